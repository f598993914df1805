// The candidate's booking page (/static/book.html?interview=…&token=…): the slots of their interview in their own
// time zone, one tap to book, and their booking with "change time" and "cancel"; in the "any time before" mode, a
// start button. Everything goes through /v1/interviews/{id}/booking with the candidate's token.
import { takeToken } from "./link-token.js";

const STRINGS = {
  en: {
    title: "Book your interview",
    zone: "Times are shown in {zone}.",
    booked: "Your interview is booked",
    cancelled: "Your interview was cancelled. Pick a new time below.",
    change: "Change time",
    cancel: "Cancel interview",
    pick: "Pick a time",
    pick_new: "Pick a new time",
    none: "No times are free right now. Please check again later.",
    seats: "{n} left",
    deadline: "Take your interview any time before {when}.",
    start: "Start now",
    bad_link: "This link is not valid; open the one from your e-mail.",
    failed: "Something went wrong; please try again.",
  },
  zh: {
    title: "预约面试",
    zone: "以下时间均为 {zone} 时间。",
    booked: "您的面试已预约",
    cancelled: "您的面试已取消。请在下方选择新的时间。",
    change: "更改时间",
    cancel: "取消面试",
    pick: "选择时间",
    pick_new: "选择新的时间",
    none: "目前没有空闲时间，请稍后再看。",
    seats: "剩 {n} 个",
    deadline: "请在 {when} 之前随时开始面试。",
    start: "立即开始",
    bad_link: "此链接无效，请打开邮件中的链接。",
    failed: "出错了，请重试。",
  },
};

// The server writes its refusals in English, with the details (dates, zones) an English reader wants; a Chinese
// page says each by its stable code instead.
const REFUSALS_ZH = {
  too_soon: "这个时间太近了，请选择稍晚一些的时间。",
  beyond_horizon: "这个时间太远了，暂时还不能预约，请选择更近的时间。",
  not_offered: "这个时间不在可选范围内，请从列出的时间中选择。",
  slot_full: "这个时间刚被别人预约了，请选择其他时间。",
  hold_expired: "为您保留的时间已过期，请重新选择。",
  already_booked: "您已经预约了面试；如需更改，请使用“更改时间”。",
  unknown_booking: "这个预约已不存在。",
  past_deadline: "面试的截止时间已过。",
  no_seat_now: "目前所有面试席位都在使用中，请几分钟后再试。",
};

const params = new URLSearchParams(location.search);
const interviewId = params.get("interview") || "";
const token = takeToken(interviewId);
const zone = params.get("tz") || Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
const language = (params.get("lang") || navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
const words = STRINGS[language];
const locale = language === "zh" ? "zh-CN" : "en-GB";
let rescheduling = false;
let canStart = false;

const $ = (id) => document.getElementById(id);

function s(key, values = {}) {
  return words[key].replace(/\{(\w+)\}/g, (_, name) => String(values[name]));
}

function formatted(iso, options) {
  return new Intl.DateTimeFormat(locale, { timeZone: zone, ...options }).format(new Date(iso));
}

const whenText = (iso) =>
  formatted(iso, { weekday: "short", day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });

async function call(method, path, body) {
  const query = new URLSearchParams({ token, tz: zone });
  const answer = await fetch(`/v1/interviews/${encodeURIComponent(interviewId)}/booking${path}?${query}`, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await answer.json().catch(() => null);
  if (!answer.ok) {
    // The server's message is written for the candidate (too soon, just taken, …).
    const code = json?.error?.code;
    const refusal = language === "zh" ? REFUSALS_ZH[code] : undefined;
    const message = answer.status === 401 ? s("bad_link") : refusal || json?.error?.message || s("failed");
    throw new Error(message);
  }
  return json;
}

function showStatus(message) {
  $("status").textContent = message;
  $("status").classList.toggle("hidden", !message);
}

function renderBooking(booking) {
  const confirmed = booking && booking.status === "confirmed";
  $("current").classList.toggle("hidden", !booking);
  if (!booking) return;
  $("current-title").textContent = confirmed ? s("booked") : s("cancelled");
  $("current-when").textContent = confirmed ? whenText(booking.start) : "";
  $("change").classList.toggle("hidden", !confirmed);
  $("cancel").classList.toggle("hidden", !confirmed);
}

function renderSlots(slots, booking) {
  const confirmed = booking && booking.status === "confirmed";
  $("picker").classList.toggle("hidden", confirmed && !rescheduling);
  $("picker-title").textContent = rescheduling ? s("pick_new") : s("pick");
  $("none").textContent = s("none");
  $("none").classList.toggle("hidden", slots.length > 0);
  const box = $("slots");
  box.replaceChildren();
  let grid = null;
  let day = "";
  for (const slot of slots) {
    const label = formatted(slot.start, { weekday: "long", day: "numeric", month: "long" });
    if (label !== day) {
      day = label;
      const heading = document.createElement("h3");
      heading.className = "slot-day";
      heading.textContent = label;
      grid = document.createElement("div");
      grid.className = "slot-grid";
      box.append(heading, grid);
    }
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.start = slot.start;
    button.textContent = formatted(slot.start, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    button.title = s("seats", { n: slot.seats_left });
    button.addEventListener("click", () => pick(slot.start));
    grid.append(button);
  }
}

async function load() {
  const view = await call("GET", "/slots");
  renderBooking(view.booking);
  const startBefore = view.mode === "start_before";
  $("start-now").classList.toggle("hidden", !startBefore);
  if (startBefore) {
    $("picker").classList.add("hidden");
    $("deadline").textContent = s("deadline", { when: whenText(view.start_before) });
    $("start-reason").textContent = view.reason || "";
    canStart = view.can_start_now;
    $("start").disabled = !canStart;
    return;
  }
  renderSlots(view.slots, view.booking);
}

async function act(work) {
  showStatus("");
  for (const button of document.querySelectorAll("button")) button.disabled = true;
  try {
    await work();
    await load();
  } catch (error) {
    showStatus(error.message);
    await load().catch(() => {});
  } finally {
    for (const button of document.querySelectorAll("button")) button.disabled = false;
    $("start").disabled = !canStart;
  }
}

function pick(start) {
  return act(async () => {
    if (rescheduling) {
      await call("PUT", "", { start, time_zone: zone });
      rescheduling = false;
    } else {
      await call("POST", "", { start, time_zone: zone });
    }
  });
}

function start() {
  return act(async () => {
    const started = await call("POST", "/start");
    location.assign(started.join_url);
  });
}

document.documentElement.lang = language === "zh" ? "zh-CN" : "en";
document.title = `Shanmian: ${words.title}`;
$("title").textContent = s("title");
$("zone").textContent = s("zone", { zone });
$("change").textContent = s("change");
$("cancel").textContent = s("cancel");
$("start").textContent = s("start");
$("change").addEventListener("click", () => {
  rescheduling = true;
  act(async () => {});
});
$("cancel").addEventListener("click", () => act(() => call("POST", "/cancel")));
$("start").addEventListener("click", start);
load()
  .catch((error) => showStatus(error.message))
  .finally(() => {
    document.body.dataset.loaded = "1";
  });
