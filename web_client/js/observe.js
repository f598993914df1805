// HR observer: replays the interview so far, then follows it live (PROTOCOL.md §3); comments go to observers only.
import { $, Unauthorized, api, boot, el, fmtScore, showError, t } from "./hr.js";

const interviewId = decodeURIComponent(location.pathname.split("/").filter(Boolean)[2] ?? "");
const pageToken = new URLSearchParams(location.search).get("token"); // an observer_token link needs no HR key
let ws = null;
let lastSeq = 0;
let answer = null; // the <li> of the answer being spoken
const seenComments = new Set();

// The page's observer token was refused: wrong, or its interview is over (the token works only while it is
// scheduled or live). Asking again cannot help, and each refusal counts against this address's wrong-key allowance.
class LinkRefused extends Error {}

function presence(key) {
  const p = $("presence");
  p.dataset.presence = key;
  p.className = `badge ${key === "joined" ? "live" : key === "left" ? "abandoned" : "scheduled"}`;
  p.textContent = t(key);
}

function speaking(on) {
  $("speaking-dot").classList.toggle("on", on);
  $("speaking").dataset.speaking = on ? "1" : "0";
  $("speaking-text").textContent = t(on ? "speaking" : "silent");
}

function currentAnswer() {
  if (!answer) {
    answer = el("li", { class: "a live-answer" }, el("span", { class: "final" }), el("span", { class: "partial muted" }));
    $("transcript").append(answer);
  }
  return answer;
}

function handle(msg) {
  if (msg.type === "comment") {
    if (seenComments.has(msg.comment_id)) return;
    seenComments.add(msg.comment_id);
    $("comments").append(el("li", {}, el("strong", { text: `${msg.author}: ` }), msg.text));
    return;
  }
  if (msg.seq) {
    if (msg.seq <= lastSeq) return;
    lastSeq = msg.seq;
  }
  switch (msg.type) {
    case "candidate_joined": presence("joined"); break;
    case "candidate_left": presence("left"); speaking(false); break;
    case "question":
      answer = null;
      $("transcript").append(el("li", { class: "q", "data-question": msg.question_id, "data-kind": msg.kind },
        el("div", { class: "kind", text: `${t(`kind_${msg.kind}`)} · ${msg.index}/${msg.total}` }), msg.text));
      break;
    case "speech_started": speaking(true); break;
    case "speech_stopped": speaking(false); break;
    case "transcript": {
      const a = currentAnswer();
      if (msg.final) {
        a.querySelector(".final").textContent += `${msg.text.trim()} `;
        a.querySelector(".partial").textContent = "";
      } else {
        a.querySelector(".partial").textContent = msg.text.trim();
      }
      break;
    }
    case "turn_end": {
      const a = currentAnswer();
      a.replaceChildren(el("span", { class: "final" }, msg.text));
      a.classList.replace("live-answer", "done-answer");
      answer = null;
      speaking(false);
      break;
    }
    case "report":
      $("closed-note").replaceChildren(el("p", { class: "banner ok" },
        `${t("overall")}: ${fmtScore(msg.report.overall)} / 10 — ${msg.report.recommendation} · `,
        el("a", { href: `/hr/report/${interviewId}`, text: t("view_report") })));
      break;
    case "closed":
      speaking(false);
      $("closed-note").append(el("p", { class: "muted", "data-closed": msg.reason, text: t("session_closed", { reason: msg.reason }) }));
      break;
    default: break;
  }
}

// A single-use ticket, asked for with the credential in a header: a WebSocket URL (kept by proxies and access
// logs) never carries the HR key or the observer token.
async function ticket() {
  const path = `/v1/interviews/${encodeURIComponent(interviewId)}/observer-ticket`;
  if (!pageToken) return (await api(path, { method: "POST" })).ticket;
  const r = await fetch(path, { method: "POST", headers: { Authorization: `Bearer ${pageToken}` } });
  if (r.status === 401) throw new LinkRefused(t("observer_link_refused"));
  if (!r.ok) throw new Error((await r.json().catch(() => null))?.error?.message ?? `${r.status} ${r.statusText}`);
  return (await r.json()).ticket;
}

function reconnect() {
  connect().catch(showError);
}

async function connect() {
  let pass;
  try {
    pass = await ticket();
  } catch (err) {
    if (err instanceof Unauthorized) throw err; // boot() shows the key form again
    showError(err);
    if (err instanceof LinkRefused) return;
    setTimeout(reconnect, 3000);
    return;
  }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  ws = new WebSocket(`${scheme}://${location.host}/v1/interviews/${encodeURIComponent(interviewId)}/observe?ticket=${encodeURIComponent(pass)}`);
  ws.onmessage = (e) => handle(JSON.parse(e.data));
  ws.onclose = (e) => {
    if (e.code === 1008) return; // refused: wrong credential or too many observers
    setTimeout(reconnect, 1500); // a new ticket each time; the server replays from the start, shown seqs are skipped
  };
  document.body.dataset.connected = "1";
}

$("comment-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("comment").value.trim();
  if (!text || ws?.readyState !== WebSocket.OPEN) return;
  ws.send(JSON.stringify({ type: "comment", text }));
  $("comment").value = "";
});

let started = false;
async function render() {
  if (started) return;
  started = true;
  presence("waiting");
  speaking(false);
  try {
    await connect();
  } catch (err) {
    started = false; // a key entered next starts it again
    throw err;
  }
}

boot(render, { needsKey: !pageToken });
