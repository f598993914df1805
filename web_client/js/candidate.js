// The candidate's page: consent and mode, microphone check, the interview over the candidate WebSocket
// (PROTOCOL.md §2), reconnecting by itself, and the report at the end.
import { apply, el, lang, setLang, t, wireSwitch } from "./i18n.js";
import { takeToken } from "./link-token.js";
import { renderReport } from "./report-view.js";

const $ = (id) => document.getElementById(id);
const interviewId = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] ?? "");
const token = takeToken(interviewId);
const FRAME_SECONDS = 0.04; // 40 ms audio frames (the server takes 10–500 ms)
const RECONNECT_FOR_MS = 110_000; // a little under the server's 120 s grace period

const state = {
  info: null,
  mode: "voice",
  mic: null,
  ws: null,
  started: false,
  finished: false, // the server said `closed` (or the interview is over): no more reconnecting
  lastSeq: 0,
  question: null,
  speaking: false,
  muted: sessionStorage.getItem("shanmian.muted") === "1",
  report: null,
  recourse: undefined, // the candidate's request for a human review: undefined until asked, null if none
  recourseDraft: "",
  recourseLoading: false,
  reconnectSince: 0,
  reconnectAttempts: 0,
  everConnected: false,
  busy: "connecting",
  utteranceTimer: null,
};

// --- microphone: getUserMedia -> AudioWorklet -> 16-bit PCM frames ----------------------------------------

class Mic {
  static async open(onFrame) {
    // Echo cancellation keeps the spoken question out of the answer. The browser's noise suppression and gain
    // control stay off: Whisper transcribes the raw voice far better (measured with the fixtures: "clear service
    // level objectives" came out as "clear obviously lame-o-mjektings" with them on).
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: false, autoGainControl: false, channelCount: 1 },
    });
    let ctx;
    try {
      ctx = new AudioContext({ sampleRate: 16000 });
    } catch {
      ctx = new AudioContext(); // the server resamples any 8–48 kHz
    }
    await ctx.audioWorklet.addModule("/static/js/capture-worklet.js");
    const source = ctx.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(ctx, "pcm-capture", {
      processorOptions: { frameSamples: Math.round(ctx.sampleRate * FRAME_SECONDS) },
    });
    const mute = ctx.createGain();
    mute.gain.value = 0; // the graph must reach the destination to be pulled; nothing is heard
    source.connect(node).connect(mute).connect(ctx.destination);
    node.port.onmessage = (e) => onFrame(e.data.pcm, e.data.peak);
    if (ctx.state === "suspended") await ctx.resume();
    const mic = new Mic();
    Object.assign(mic, { stream, ctx, node });
    return mic;
  }

  get sampleRate() { return this.ctx.sampleRate; }

  close() {
    this.node.port.onmessage = null;
    this.stream.getTracks().forEach((tr) => tr.stop());
    this.ctx.close();
  }
}

let heardSomething = false;
function onFrame(pcm, peak) {
  const level = Math.min(100, Math.round(Math.sqrt(peak) * 100));
  for (const meter of document.querySelectorAll(".meter")) {
    meter.firstElementChild.style.width = `${level}%`;
    meter.setAttribute("aria-valuenow", String(level));
  }
  if (!state.started && level > 12 && !heardSomething) {
    heardSomething = true;
    $("mic-status").textContent = t("mic_ok");
  }
  // No capture while the interviewer's question is spoken: its voice must not be taken for the candidate's.
  if (state.started && !state.finished && !state.speaking && state.ws?.readyState === WebSocket.OPEN && state.helloDone) {
    state.ws.send(pcm);
  }
}

let micOpening = null;
function openMic() {
  // One microphone for the whole page: the check's and the interview's (a second would double the audio).
  micOpening ??= openMicOnce().catch((err) => { micOpening = null; throw err; });
  return micOpening;
}

async function openMicOnce() {
  try {
    state.mic = await Mic.open(onFrame);
    $("mic-status").textContent = heardSomething ? t("mic_ok") : t("mic_hint");
    setTimeout(() => { if (!heardSomething && !state.started) $("mic-status").textContent = t("mic_quiet"); }, 4000);
    return state.mic;
  } catch (err) {
    $("mic-status").textContent = t("mic_denied", { err: err?.name ?? String(err) });
    throw err;
  }
}

// --- speech synthesis ----------------------------------------------------------------------------------------

function stopSpeaking() {
  clearTimeout(state.utteranceTimer);
  if ("speechSynthesis" in window) speechSynthesis.cancel();
  if (state.speaking) {
    state.speaking = false;
    showState();
  }
}

function speak(text, language) {
  stopSpeaking();
  if (state.muted || state.mode !== "voice" || !("speechSynthesis" in window)) return;
  const u = new SpeechSynthesisUtterance(text);
  u.lang = language === "zh" ? "zh-CN" : "en-US";
  const voice = speechSynthesis.getVoices().find((v) => v.lang.toLowerCase().startsWith(language));
  if (voice) u.voice = voice;
  let started = false;
  const done = () => {
    clearTimeout(state.utteranceTimer);
    if (state.speaking) { state.speaking = false; showState(); }
  };
  u.onstart = () => {
    started = true;
    clearTimeout(state.utteranceTimer);
    // A browser that never says `end` must not keep the microphone closed for good.
    state.utteranceTimer = setTimeout(done, 4000 + text.length * (language === "zh" ? 350 : 110));
  };
  u.onend = done;
  u.onerror = done;
  state.speaking = true;
  showState();
  speechSynthesis.speak(u);
  // A browser with no voice at all never starts: listen again soon.
  state.utteranceTimer = setTimeout(() => { if (!started) done(); }, 1500);
}

function showMute() {
  const b = $("mute");
  b.textContent = state.muted ? t("unmute") : t("mute");
  b.setAttribute("aria-pressed", String(state.muted));
}

// --- what the page shows -------------------------------------------------------------------------------------

function show(section) {
  for (const id of ["loading", "intro", "interview", "after"]) $(id).classList.toggle("hidden", id !== section);
}

let bannerTimer = null;
function banner(kind, text, hideAfterMs = 0) {
  const b = $("banner");
  clearTimeout(bannerTimer);
  if (!text) { b.classList.add("hidden"); return; }
  b.className = `banner ${kind}`;
  b.textContent = text;
  if (hideAfterMs) bannerTimer = setTimeout(() => b.classList.add("hidden"), hideAfterMs);
}

function showState() {
  const s = $("state");
  let key = state.busy;
  if (state.speaking) key = "speaking";
  else if (key === "listening" && state.mode === "text") key = "typing";
  s.dataset.state = key;
  s.className = `badge ${key}`;
  s.textContent = t(`state_${key}`);
}

function setBusy(key) { state.busy = key; showState(); }

function showQuestion() {
  const q = state.question;
  if (!q) return;
  $("question").textContent = q.text;
  $("question").lang = q.language === "zh" ? "zh-CN" : "en";
  $("kind").textContent = t(`kind_${q.kind}`);
  $("progress").textContent = q.kind === "closing" ? t("progress_closing") : t("progress", { i: q.index, n: q.total });
  $("progress").dataset.index = String(q.index);
}

function captions() {
  const c = $("captions");
  if (!c.querySelector(".final, .partial")) {
    c.replaceChildren(el("span", { class: "placeholder", text: t(state.mode === "voice" ? "captions_empty" : "captions_empty_text") }));
  }
}

function resetCaptions() {
  $("captions").replaceChildren();
  captions();
}

function announce(text) {
  $("announce").textContent = text;
}

function addCaption(msg) {
  const c = $("captions");
  c.querySelector(".placeholder")?.remove();
  let partial = c.querySelector(".partial");
  if (msg.final) {
    partial?.remove();
    c.append(el("span", { class: "final", text: `${msg.text.trim()} ` }));
    announce(msg.text.trim()); // partials change twice a second: only finals are read out
  } else {
    if (!partial) { partial = el("span", { class: "partial" }); c.append(partial); }
    partial.textContent = msg.text.trim();
  }
}

function addHistory(kind, text) {
  const who = kind === "q" ? t("interviewer") : t("you");
  $("history").append(el("li", { class: kind }, el("strong", { text: `${who}: ` }), text));
}

function refreshTexts() {
  apply();
  showMute();
  showState();
  showQuestion();
  captions();
  if (state.info) fillIntro();
  if (state.report) showReport(state.report);
}

// The server's times are UTC; one written without an offset would be read as local time.
function localTime(iso) {
  const when = new Date(/(?:Z|[+-]\d\d:?\d\d)$/i.test(iso) ? iso : `${iso}Z`);
  return when.toLocaleString(lang() === "zh" ? "zh-CN" : "en");
}

function fillIntro() {
  const info = state.info;
  $("intro-title").textContent = t("intro_title", { title: info.title || "—" });
  $("intro-ai").textContent = t(info.total_questions === 1 ? "intro_ai_1" : "intro_ai", { n: info.total_questions || "–" });
  // A job that offers slots: the time can be chosen (or changed) on the booking page, with this page's token.
  $("booking").classList.toggle("hidden", !info.can_book);
  if (info.can_book) {
    $("booking-when").textContent = info.scheduled_at
      ? t("booking_when", { when: localTime(info.scheduled_at) })
      : t("booking_none");
    $("booking-link").href = `/static/book.html?interview=${encodeURIComponent(interviewId)}&token=${encodeURIComponent(token)}&lang=${lang()}`;
  }
  $("retention").textContent = info.retention_days ? t("retention_days", { days: info.retention_days }) : t("retention_unset");
}

function showReport(report) {
  state.report = report;
  $("report-wait").textContent = "";
  $("report").replaceChildren(renderReport(report), recourseBox());
  if (state.recourse === undefined) loadRecourse();
}

// The candidate may contest the automated assessment (GDPR Art. 22(3), PIPL Art. 24): a person reviews or explains.
const recourseUrl = () => `/v1/interviews/${encodeURIComponent(interviewId)}/recourse?token=${encodeURIComponent(token)}`;

async function loadRecourse() {
  if (state.recourseLoading) return;
  state.recourseLoading = true;
  const r = await fetch(recourseUrl()).catch(() => null);
  state.recourse = r?.ok ? await r.json() : null;
  if (state.report) showReport(state.report);
}

function recourseBox() {
  const box = el("section", { id: "recourse", "aria-labelledby": "recourse-title" });
  const made = state.recourse;
  if (made === undefined) return box; // the form waits for the status: typing into it would be lost on the redraw
  box.append(el("h2", { id: "recourse-title", text: t("recourse_title") }));
  const day = (iso) => new Date(iso).toLocaleDateString(lang() === "zh" ? "zh-CN" : "en");
  if (made) {
    const text = made.status === "answered"
      ? t("recourse_answered", { date: day(made.answered_at) })
      : t("recourse_pending", { date: day(made.created_at), due: day(made.due_at) });
    box.append(el("p", { id: "recourse-status", "data-status": made.status, tabindex: "-1", text }));
    if (made.answer) box.append(el("blockquote", { id: "recourse-answer", text: made.answer }));
    return box;
  }
  // The draft survives a redraw (a language switch redraws the report).
  const message = el("textarea", { id: "recourse-message", rows: "3", maxlength: "2000" });
  message.value = state.recourseDraft ?? "";
  message.addEventListener("input", () => { state.recourseDraft = message.value; });
  const problem = el("p", { id: "recourse-problem", class: "small", role: "status" });
  const button = el("button", { id: "recourse-request", type: "button" }, t("recourse_button"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    const r = await fetch(recourseUrl(), {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ message: message.value.trim() || null }),
    }).catch(() => null);
    const body = await r?.json().catch(() => null);
    if (r?.ok) {
      state.recourse = body;
      showReport(state.report);
      $("recourse-status").focus();
      return;
    }
    problem.textContent = t("error_prefix") + (body?.error?.message ?? `HTTP ${r?.status ?? "—"}`);
    button.disabled = false;
  });
  box.append(el("p", { class: "muted small", text: t("recourse_intro") }),
    el("label", { for: "recourse-message", text: t("recourse_message_label") }), message, button, problem);
  return box;
}

async function fetchReport(tries = 8) {
  for (let i = 0; i < tries; i++) {
    const r = await fetch(`/v1/interviews/${encodeURIComponent(interviewId)}/report?token=${encodeURIComponent(token)}`);
    if (r.ok) { showReport(await r.json()); return; }
    await new Promise((res) => setTimeout(res, 1000));
  }
  $("report-wait").textContent = t("report_none");
}

function finish() {
  state.finished = true;
  stopSpeaking();
  state.mic?.close();
  state.mic = null;
  micOpening = null;
  $("mute").classList.add("hidden");
  show("after");
  if (!state.report) {
    $("report-wait").textContent = t("report_wait");
    fetchReport();
  }
  $("report-title").focus();
}

// --- the stream ------------------------------------------------------------------------------------------------

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const url = `${scheme}://${location.host}/v1/interviews/${encodeURIComponent(interviewId)}/stream?token=${encodeURIComponent(token)}`;
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  state.ws = ws;
  state.helloDone = false;
  ws.onopen = () => {
    // `consent` is the consent to an audio recording: the second, optional box.
    const hello = { type: "hello", mode: state.mode, consent: $("record").checked };
    if (state.mode === "voice" && state.mic) {
      hello.audio = { encoding: "pcm_s16le", sample_rate: state.mic.sampleRate, channels: 1 };
    }
    ws.send(JSON.stringify(hello));
  };
  ws.onmessage = (e) => { if (typeof e.data === "string") handle(JSON.parse(e.data)); };
  ws.onclose = () => {
    if (state.ws !== ws) return;
    state.helloDone = false;
    if (state.finished) return;
    stopSpeaking();
    if (!state.reconnectSince) state.reconnectSince = Date.now();
    if (Date.now() - state.reconnectSince > RECONNECT_FOR_MS) {
      banner("error", t("gave_up"));
      return;
    }
    banner("warn", t("disconnected"));
    setBusy("connecting");
    const delay = Math.min(5000, 500 * 2 ** state.reconnectAttempts++);
    setTimeout(connect, delay);
  };
}

function send(msg) {
  if (state.ws?.readyState === WebSocket.OPEN && state.helloDone) {
    state.ws.send(JSON.stringify(msg));
    return true;
  }
  return false;
}

function handle(msg) {
  // Replays after a reconnect carry seqs already seen; comments/errors carry seq 0.
  if (msg.seq && msg.seq <= state.lastSeq && msg.type !== "ready" && msg.type !== "question") return;
  if (msg.seq) state.lastSeq = Math.max(state.lastSeq, msg.seq);
  switch (msg.type) {
    case "ready":
      state.helloDone = true;
      state.resuming = Boolean(msg.resumed);
      if (state.reconnectSince || msg.resumed && state.everConnected) banner("ok", t("reconnected"), 4000);
      state.everConnected = true;
      state.reconnectSince = 0;
      state.reconnectAttempts = 0;
      setBusy("thinking");
      break;
    case "question": {
      const prev = state.question;
      const replay = state.resuming && prev && prev.question_id === msg.question_id && prev.text === msg.text;
      state.resuming = false;
      state.question = msg;
      if (replay) { setBusy("listening"); break; } // the server re-sends the current question after a resume
      setLangFromInterview(msg.language);
      showQuestion();
      announce(msg.text);
      resetCaptions();
      addHistory("q", msg.text);
      setBusy("listening");
      speak(msg.text, msg.language);
      break;
    }
    case "speech_started": setBusy("hearing"); break;
    case "speech_stopped": if (state.busy === "hearing") setBusy("listening"); break;
    case "transcript": addCaption(msg); break;
    case "turn_end":
      addHistory("a", msg.text);
      setBusy("thinking");
      break;
    case "report": showReport(msg.report); break;
    case "closed":
      if (msg.reason === "unauthorized" || msg.reason === "not_found") {
        state.finished = true;
        banner("error", t("invalid_link"));
      } else if (msg.reason?.startsWith("replaced")) {
        state.finished = true;
        banner("warn", msg.reason);
      } else {
        banner("", "");
        finish();
      }
      break;
    case "error":
      if (msg.code !== "session_closed" && msg.code !== "unauthorized" && msg.code !== "not_found") {
        banner("error", t("error_prefix") + msg.message, 6000);
      }
      break;
    default: break;
  }
}

let interviewLangChosen = false;
function setLangFromInterview(language) {
  if (interviewLangChosen || !language) return;
  interviewLangChosen = true; // after this the switch decides
  if (language !== document.documentElement.lang.slice(0, 2)) { setLang(language); refreshTexts(); }
}

// --- wiring ------------------------------------------------------------------------------------------------------

function updateStart() {
  const ok = $("consent").checked;
  $("start").disabled = !ok;
  $("start-hint").classList.toggle("hidden", ok);
}

function selectedMode() { return document.querySelector("input[name=mode]:checked").value; }

async function start() {
  state.mode = selectedMode();
  if (state.mode === "voice") {
    try { await openMic(); } catch { return; }
  } else if (state.mic) {
    state.mic.close();
    state.mic = null;
    micOpening = null;
  }
  state.started = true;
  $("mute").classList.toggle("hidden", state.mode !== "voice");
  $("live-meter").classList.toggle("hidden", state.mode !== "voice");
  show("interview");
  resetCaptions();
  setBusy("connecting");
  connect();
  $("question").focus();
  setInterval(() => send({ type: "ping" }), 20_000);
}

function wire() {
  wireSwitch($("lang-switch"), () => { interviewLangChosen = true; refreshTexts(); });
  $("consent").addEventListener("change", updateStart);
  for (const r of document.querySelectorAll("input[name=mode]")) {
    r.addEventListener("change", () => $("mic-check").classList.toggle("hidden", selectedMode() !== "voice"));
  }
  $("mic-test").addEventListener("click", () => openMic().catch(() => {}));
  $("start").addEventListener("click", start);
  $("mute").addEventListener("click", () => {
    state.muted = !state.muted;
    sessionStorage.setItem("shanmian.muted", state.muted ? "1" : "0");
    if (state.muted) stopSpeaking();
    showMute();
  });
  $("rephrase").addEventListener("click", () => { if (send({ type: "rephrase" })) setBusy("thinking"); });
  $("repeat").addEventListener("click", () => { if (send({ type: "repeat" })) setBusy("thinking"); });
  // Ending asks once, and stays asked until the candidate confirms or cancels: nothing changes behind their back.
  const disarmEnd = () => {
    $("end").dataset.armed = "";
    $("end").textContent = t("end");
    $("end-cancel").classList.add("hidden");
  };
  $("end").addEventListener("click", () => {
    const b = $("end");
    if (b.dataset.armed === "1") {
      disarmEnd();
      send({ type: "end" });
      setBusy("thinking");
      return;
    }
    b.dataset.armed = "1";
    b.textContent = t("end_confirm_button");
    $("end-cancel").classList.remove("hidden");
    announce(t("end_confirm"));
  });
  $("end-cancel").addEventListener("click", () => {
    disarmEnd();
    $("end").focus();
  });
  $("answer-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("answer").value.trim();
    if (!text) return;
    if (send({ type: "answer", text })) {
      $("answer").value = "";
      setBusy("thinking");
    }
  });
  $("answer").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) $("answer-form").requestSubmit();
  });
  // For tests and for people: drop the connection as a network failure would (the page reconnects by itself).
  window.__shanmian = { drop: () => state.ws?.close(4000, "simulated drop"), state };
}

async function main() {
  wire();
  setLang(navigator.language?.toLowerCase().startsWith("zh") ? "zh" : "en");
  apply();
  showMute();
  const r = await fetch(`/join/${encodeURIComponent(interviewId)}/info?token=${encodeURIComponent(token)}`);
  if (!r.ok) {
    show("loading");
    $("loading").replaceChildren(el("p", { class: "banner error", text: t("invalid_link") }));
    return;
  }
  state.info = await r.json();
  setLang(state.info.language);
  refreshTexts();
  if (state.info.status === "completed" || state.info.status === "abandoned") {
    state.finished = true;
    show("after");
    if (state.info.has_report) fetchReport(1);
    else $("report-wait").textContent = t("already_done");
    return;
  }
  const mode = state.info.mode === "text" ? "text" : "voice";
  document.querySelector(`input[name=mode][value=${mode}]`).checked = true;
  $("mic-check").classList.toggle("hidden", mode !== "voice");
  updateStart();
  show("intro");
}

main();
