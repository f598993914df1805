// UI strings in English and Chinese; elements carry data-i18n="key" (text) or data-i18n-attr="attr:key,…".
const STRINGS = {
  en: {
    lang_switch: "中文", lang_switch_label: "切换到中文",
    brand_sub: "AI interview",
    intro_title: "Your interview for {title}",
    intro_ai_1: "An AI interviewer will ask you one question and may ask a short follow-up. A person at the company reviews everything afterwards: the AI only recommends, it never decides.",
    intro_ai: "An AI interviewer will ask you {n} questions, one at a time, and may ask a short follow-up. A person at the company reviews everything afterwards: the AI only recommends, it never decides.",
    intro_how: "You can answer by speaking or by typing. Take your time; you can ask for a question to be repeated or put another way.",
    recorded_title: "What is recorded and kept",
    recorded_text: "Your answers as text (what you type, and what you say turned into text as you speak), the questions, and the scores and notes of the reviewers.",
    recorded_audio: "An audio recording of the interview is kept for the reviewers only if you tick the second box below; without it, your voice is turned into text and not stored.",
    recorded_video: "No video is recorded and nothing is inferred from your face or emotions.",
    retention_days: "These are kept for {days} days, then deleted.",
    retention_unset: "The company keeps them as long as its privacy policy says; ask them to see or delete your data.",
    consent_label: "I understand that an AI conducts this interview and I agree that my answers are recorded as text as described above.",
    record_label: "Also keep an audio recording of my answers for the reviewers (optional).",
    mode_legend: "How would you like to answer?",
    mode_voice: "Speak (microphone)", mode_voice_hint: "Questions are read aloud; your words appear as captions.",
    mode_text: "Type", mode_text_hint: "Questions are shown as text; you type your answers. Works with screen readers.",
    mic_title: "Microphone check", mic_test: "Test microphone", mic_hint: "Say a few words: the bar should move.",
    mic_ok: "Microphone works.", mic_quiet: "We can't hear you yet: speak a little louder or check your microphone.",
    mic_denied: "The microphone could not be opened ({err}). Allow it in your browser, or choose \"Type\".",
    mic_level: "Microphone level",
    start: "Start the interview", need_consent: "Tick the consent box to start.",
    progress: "Question {i} of {n}", progress_closing: "Last question",
    state_connecting: "Connecting…", state_listening: "Listening", state_hearing: "Hearing you", state_thinking: "Thinking…",
    state_speaking: "Interviewer speaking", state_typing: "Type your answer",
    kind_main: "Question", kind_follow_up: "Follow-up", kind_rephrase: "In other words", kind_repeat: "Repeated", kind_closing: "Closing",
    captions_label: "Live captions of your answer", captions_empty: "Your words will appear here as you speak.",
    captions_empty_text: "Type your answer below and press Send.",
    answer_label: "Type your answer", answer_placeholder: "Type here… (Ctrl+Enter sends)", send: "Send",
    rephrase: "Say it another way", repeat: "Repeat", end: "End interview",
    end_confirm: "End the interview now? Your answers so far will be scored.",
    end_confirm_button: "Yes, end now", end_cancel: "Keep going",
    mute: "Mute voice", unmute: "Unmute voice",
    history: "Conversation so far", you: "You", interviewer: "Interviewer",
    disconnected: "Connection lost. Reconnecting…", reconnected: "Reconnected: the interview goes on.",
    gave_up: "We could not reconnect. Check your connection and reload this page to continue.",
    invalid_link: "This link is not valid. Open the link from your invitation.",
    already_done: "This interview has ended.",
    report_title: "Your results", overall: "Overall", out_of: "out of 10",
    band_strong: "Strong", band_solid: "Solid", band_developing: "Developing", band_limited: "Limited",
    band_insufficient_evidence: "Not enough evidence",
    dimensions: "By topic", strengths: "What went well", suggestions: "Suggestions", evidence: "From your answers", evidence_hr: "The candidate's words",
    report_note: "This is the AI's assessment of your answers. People at the company make every decision.",
    report_wait: "Your interview has ended. Your results are being prepared…",
    report_none: "The interview has ended. Results are not available yet.",
    error_prefix: "Problem: ",
    // HR
    hr_title: "HR dashboard", hr_key_label: "HR API key", hr_key_hint: "Entered once; kept only in this browser tab.",
    hr_key_save: "Continue", hr_key_forget: "Sign out", hr_key_bad: "That key was not accepted.",
    jobs: "Jobs", job: "Job", live_now: "Live now", none_live: "No interview is live right now.", observe: "Observe",
    scheduled: "Scheduled", live: "Live", completed: "Completed", abandoned: "Abandoned", passed: "At/above pass",
    pass_threshold: "pass ≥ {x}", interviews: "Interviews", candidate: "Candidate", status: "Status", score: "Score",
    report: "Report", no_jobs: "No jobs yet. Create one with POST /v1/jobs.", refresh: "Refresh", dashboard: "Dashboard",
    observer_title: "Live interview", transcript: "Transcript", comments: "Comments (never shown to the candidate)",
    comment_label: "Add a comment", comment_send: "Post comment", speaking: "Candidate speaking", silent: "Candidate silent",
    joined: "Candidate connected", left: "Candidate disconnected", waiting: "Waiting for the candidate…",
    session_closed: "Interview ended ({reason}).", view_report: "View the report",
    recommendation: "Recommendation", rec_note: "A recommendation only: people decide.",
    weaknesses: "Weaknesses", rationale: "Why", no_answer: "(no answer)", no_report: "No report yet.",
    no_comments: "No comments yet.", recording: "Recording", no_recording: "No recording is stored for this interview.", highlights: "Moments",
    rec_advance: "Advance", rec_hold: "Hold: a person decides", rec_reject: "Do not advance", scored_by: "Scored by {model}",
    hl_result: "Result", hl_technology: "Technology", hl_follow_up: "Led to a follow-up",
  },
  zh: {
    lang_switch: "English", lang_switch_label: "Switch to English",
    brand_sub: "AI 面试",
    intro_title: "{title} 职位面试",
    intro_ai_1: "AI 面试官将问您 1 个问题，可能会简短追问。面试后由公司的工作人员审阅全部内容：AI 只提供建议，不做决定。",
    intro_ai: "AI 面试官将依次问您 {n} 个问题，可能会简短追问。面试后由公司的工作人员审阅全部内容：AI 只提供建议，不做决定。",
    intro_how: "您可以口头回答，也可以打字回答。不用着急；您可以请面试官重复问题或换一种说法。",
    recorded_title: "记录和保存的内容",
    recorded_text: "您的回答文字（您打的字，以及您说的话实时转成的文字）、面试问题、评审的评分和备注。",
    recorded_audio: "只有勾选下方第二个框，才会保存面试录音供评审使用；否则您的语音只转成文字，不保存音频。",
    recorded_video: "不录制视频，也不会根据您的面部或情绪做任何推断。",
    retention_days: "以上内容保存 {days} 天后删除。",
    retention_unset: "公司按其隐私政策保存这些内容；如需查看或删除您的数据，请联系公司。",
    consent_label: "我知道本次面试由 AI 进行，并同意按上述方式以文字记录我的回答。",
    record_label: "同时保存我回答的录音供评审使用（可选）。",
    mode_legend: "您想怎样回答？",
    mode_voice: "语音（麦克风）", mode_voice_hint: "问题会朗读出来；您说的话会显示为字幕。",
    mode_text: "打字", mode_text_hint: "问题以文字显示，您打字回答。支持屏幕阅读器。",
    mic_title: "麦克风检查", mic_test: "测试麦克风", mic_hint: "说几句话：音量条应该会动。",
    mic_ok: "麦克风正常。", mic_quiet: "还听不到声音：请大声一点或检查麦克风。",
    mic_denied: "无法打开麦克风（{err}）。请在浏览器中允许，或选择“打字”。",
    mic_level: "麦克风音量",
    start: "开始面试", need_consent: "请先勾选同意框。",
    progress: "第 {i} 题，共 {n} 题", progress_closing: "最后一个问题",
    state_connecting: "正在连接…", state_listening: "正在聆听", state_hearing: "正在听您说", state_thinking: "思考中…",
    state_speaking: "面试官正在说话", state_typing: "请输入您的回答",
    kind_main: "问题", kind_follow_up: "追问", kind_rephrase: "换个说法", kind_repeat: "重复", kind_closing: "结束语",
    captions_label: "您回答的实时字幕", captions_empty: "您说话时，文字会显示在这里。",
    captions_empty_text: "请在下方输入回答，然后点击“发送”。",
    answer_label: "输入您的回答", answer_placeholder: "在此输入…（Ctrl+Enter 发送）", send: "发送",
    rephrase: "换个说法", repeat: "重复问题", end: "结束面试",
    end_confirm: "现在结束面试吗？将根据您目前的回答评分。",
    end_confirm_button: "确定结束", end_cancel: "继续面试",
    mute: "关闭朗读", unmute: "打开朗读",
    history: "对话记录", you: "您", interviewer: "面试官",
    disconnected: "连接已断开，正在重新连接…", reconnected: "已重新连接，面试继续。",
    gave_up: "无法重新连接。请检查网络后刷新本页继续。",
    invalid_link: "此链接无效。请打开邀请中的链接。",
    already_done: "本次面试已结束。",
    report_title: "您的结果", overall: "总分", out_of: "满分 10 分",
    band_strong: "优秀", band_solid: "良好", band_developing: "有待提高", band_limited: "不足",
    band_insufficient_evidence: "证据不足",
    dimensions: "各项得分", strengths: "表现好的地方", suggestions: "改进建议", evidence: "摘自您的回答", evidence_hr: "候选人原话",
    report_note: "这是 AI 对您回答的评估。所有决定都由公司的工作人员做出。",
    report_wait: "面试已结束，正在生成结果…",
    report_none: "面试已结束，结果暂不可用。",
    error_prefix: "问题：",
    hr_title: "HR 控制台", hr_key_label: "HR API 密钥", hr_key_hint: "只需输入一次；仅保存在此浏览器标签页中。",
    hr_key_save: "继续", hr_key_forget: "退出", hr_key_bad: "密钥无效。",
    jobs: "职位", job: "职位", live_now: "正在进行", none_live: "目前没有进行中的面试。", observe: "旁听",
    scheduled: "已安排", live: "进行中", completed: "已完成", abandoned: "已放弃", passed: "达到及格线",
    pass_threshold: "及格 ≥ {x}", interviews: "面试", candidate: "候选人", status: "状态", score: "分数",
    report: "报告", no_jobs: "还没有职位。请用 POST /v1/jobs 创建。", refresh: "刷新", dashboard: "控制台",
    observer_title: "实时面试", transcript: "记录", comments: "备注（候选人看不到）",
    comment_label: "添加备注", comment_send: "发表备注", speaking: "候选人正在说话", silent: "候选人未说话",
    joined: "候选人已连接", left: "候选人已断开", waiting: "等待候选人…",
    session_closed: "面试已结束（{reason}）。", view_report: "查看报告",
    recommendation: "建议", rec_note: "仅为建议：由人来决定。",
    weaknesses: "不足", rationale: "依据", no_answer: "（未回答）", no_report: "还没有报告。",
    no_comments: "还没有备注。", recording: "录音", no_recording: "本次面试没有保存录音。", highlights: "关键片段",
    rec_advance: "建议进入下一轮", rec_hold: "待定：由人来决定", rec_reject: "建议不进入下一轮", scored_by: "评分模型：{model}",
    hl_result: "成果", hl_technology: "技术", hl_follow_up: "引出追问",
  },
};

let current = "en";

export function setLang(lang) {
  current = STRINGS[lang] ? lang : "en";
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
  return current;
}

export function lang() { return current; }

export function t(key, vars = {}) {
  const s = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : `{${k}}`));
}

/** Fills every [data-i18n] element's text and [data-i18n-attr] attributes under root. */
export function apply(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(",")) {
      const [attr, key] = pair.split(":");
      el.setAttribute(attr.trim(), t(key.trim()));
    }
  }
  for (const el of root.querySelectorAll("[data-lang-switch]")) {
    el.textContent = t("lang_switch");
    el.setAttribute("aria-label", t("lang_switch_label"));
    el.lang = current === "en" ? "zh-CN" : "en";
  }
}

export function guessLang() {
  return (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
}

/** A button that flips the page between en and zh, then calls onChange(lang). */
export function wireSwitch(button, onChange) {
  button.dataset.langSwitch = "1";
  apply(button.parentElement ?? document);
  button.addEventListener("click", () => {
    setLang(current === "en" ? "zh" : "en");
    apply(button.parentElement ?? document);
    onChange(current);
  });
}

/** Text as a DOM-safe node helper. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}
