// UI strings in English and Chinese; elements carry data-i18n="key" (text) or data-i18n-attr="attr:key,…".
const STRINGS = {
  en: {
    lang_switch: "中文", lang_switch_label: "切换到中文",
    brand_sub: "AI interview",
    intro_title: "Your interview for {title}",
    intro_ai_1: "An AI interviewer will ask you one question and may ask a short follow-up. A person at the company reviews everything afterwards: the AI only recommends, it never decides.",
    booking_when: "Your interview is booked for {when}.", booking_none: "You have not chosen a time yet.",
    booking_link: "Choose or change the time",
    intro_ai: "An AI interviewer will ask you {n} questions, one at a time, and may ask a short follow-up. A person at the company reviews everything afterwards: the AI only recommends, it never decides.",
    intro_how: "You can answer by speaking or by typing. Take your time; you can ask for a question to be repeated or put another way.",
    recorded_title: "What is recorded and kept",
    recorded_text: "Your answers as text (what you type, and what you say turned into text as you speak), the questions, and the scores and notes of the reviewers.",
    recorded_audio: "An audio recording of the interview is kept for the reviewers only if you tick the second box below; without it, your voice is turned into text and not stored.",
    recorded_video: "No video is recorded and nothing is inferred from your face or emotions.",
    retention_days: "An audio recording is deleted {days} days after the interview; the text is kept as long as the company's privacy policy says, and you can ask them to see or delete your data.",
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
    recourse_title: "Ask a person to review", recourse_intro: "You can ask a person at the company to review these results or explain them to you.",
    recourse_message_label: "What should they look at? (optional)", recourse_button: "Request a human review or explanation",
    recourse_pending: "You asked for a human review on {date}. A person will answer by {due}.",
    recourse_answered: "A person answered your request on {date}:",
    error_prefix: "Problem: ",
    // HR
    hr_title: "HR dashboard", hr_key_label: "HR API key", hr_key_hint: "Entered once; kept only in this browser tab.",
    hr_key_save: "Continue", hr_key_forget: "Sign out", hr_key_bad: "That key was not accepted.",
    observer_link_refused: "This observer link does not open the interview: it works only while the interview is scheduled or live. Open it from the HR dashboard with your own key.",
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
    booking_when: "您的面试已预约在 {when}。", booking_none: "您还没有选择面试时间。",
    booking_link: "选择或更改时间",
    intro_ai: "AI 面试官将依次问您 {n} 个问题，可能会简短追问。面试后由公司的工作人员审阅全部内容：AI 只提供建议，不做决定。",
    intro_how: "您可以口头回答，也可以打字回答。不用着急；您可以请面试官重复问题或换一种说法。",
    recorded_title: "记录和保存的内容",
    recorded_text: "您的回答文字（您打的字，以及您说的话实时转成的文字）、面试问题、评审的评分和备注。",
    recorded_audio: "只有勾选下方第二个框，才会保存面试录音供评审使用；否则您的语音只转成文字，不保存音频。",
    recorded_video: "不录制视频，也不会根据您的面部或情绪做任何推断。",
    retention_days: "录音在面试结束 {days} 天后删除；文字记录按公司隐私政策保存，如需查看或删除您的数据，请联系公司。",
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
    recourse_title: "请人工复核", recourse_intro: "您可以请公司的工作人员复核这些结果，或向您解释评估依据。",
    recourse_message_label: "希望复核哪些内容？（选填）", recourse_button: "申请人工复核或解释",
    recourse_pending: "您已于{date}申请人工复核。工作人员将在{due}前答复。",
    recourse_answered: "工作人员已于{date}答复您的申请：",
    error_prefix: "问题：",
    hr_title: "HR 控制台", hr_key_label: "HR API 密钥", hr_key_hint: "只需输入一次；仅保存在此浏览器标签页中。",
    hr_key_save: "继续", hr_key_forget: "退出", hr_key_bad: "密钥无效。",
    observer_link_refused: "此观察链接无法打开该面试：它仅在面试待开始或进行中时有效。请在人事面板中用您自己的密钥打开。",
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

// ---- HR analytics pages: the printable bias audit and the dashboard's charts (audit.js, charts.js) ----
const ANALYTICS_STRINGS = {
  en: {
    audit_title: "Bias audit", audit_print: "Print", audit_job: "Job", audit_all_jobs: "All jobs",
    audit_from: "From", audit_to: "To", audit_show: "Show", audit_link: "Bias audit", audit_all_dates: "all dates",
    audit_interviews: "{n} interviews with a report", audit_unreadable: "{n} reports in an older format left out (score them again)",
    audit_generated: "Generated {when}",
    audit_about: "Per New York City Local Law 144 (6 RCNY §5-301): selection and scoring rates by self-identified sex, race/ethnicity and their intersection, and impact ratios to the highest category. A ratio under 0.8 is flagged (EEOC four-fifths rule); the Fisher p, 95 % interval, shortfall and one-person test help read a flag.",
    audit_justification: "Categories under 2 % are left out of impact ratios: {why}",
    audit_selection_help: "Selection rate: the share of the category given this outcome.",
    audit_scoring_help: "Scoring rate: the share of the category scoring strictly above the full sample's median.",
    audit_m_advance: "Recommended to advance", audit_m_advance_or_hold: "Recommended to advance or hold",
    audit_m_overall: "Overall score", audit_m_dimension: "Dimension: {name}",
    audit_axis_sex: "By sex", audit_axis_race_ethnicity: "By race/ethnicity", audit_axis_sex_x_race_ethnicity: "By sex × race/ethnicity",
    audit_median: "median {x}",
    audit_col_category: "Category", audit_col_n: "n", audit_col_selected: "Selected", audit_col_above: "Above median",
    audit_col_rate: "Rate", audit_col_ci: "95 % interval", audit_col_ratio: "Impact ratio", audit_col_flag: "Under 0.8",
    audit_col_fisher: "Fisher p", audit_col_shortfall: "Shortfall", audit_col_notes: "Notes",
    audit_flag_yes: "flag", audit_flag_no: "–",
    audit_small: "under 2 % of the sample ({share})", audit_small_excluded: "under 2 % ({share}): left out of impact ratios",
    audit_fragile: "one person's outcome flips this flag", audit_reference: "reference (highest rate)",
    audit_unknown: "Unknown", audit_unknown_note: "no self-identification on this axis: counted, left out of the rates",
    audit_empty: "No interviews with a report in this period.",
    charts_title: "Charts", charts_scores: "Overall scores", charts_count: "Interviews",
    charts_validity: "Validity: {dimension} score vs performance", charts_validity_r: "r = {r} (95 % CI {low} to {high}), n = {n}",
    charts_validity_none: "No validity study yet: {why}", charts_performance: "Performance", charts_fit: "Fitted line",
    charts_hires: "Hires", charts_questions: "Valid-answer rate per question version (first pass, 95 % CI)",
    charts_rate: "Valid answers", charts_ci: "95 % interval", charts_no_questions: "No question has been asked yet.",
    charts_impact: "Impact ratios, recommended to advance", charts_open_audit: "Open the printable bias audit",
    charts_load: "Show charts",
  },
  zh: {
    audit_title: "偏差审计", audit_print: "打印", audit_job: "职位", audit_all_jobs: "全部职位",
    audit_from: "起始", audit_to: "截止", audit_show: "显示", audit_link: "偏差审计", audit_all_dates: "全部日期",
    audit_interviews: "{n} 场有报告的面试", audit_unreadable: "{n} 份旧格式报告未计入（请重新评分）",
    audit_generated: "生成于 {when}",
    audit_about: "依据纽约市第 144 号地方法（6 RCNY §5-301）：按自报的性别、种族/族裔及其交叉分组的选拔率和评分率，以及相对最高组的影响比。影响比低于 0.8 的组会被标记（EEOC 五分之四规则）；Fisher p 值、95% 区间、差额和单人翻转检验有助于解读标记。",
    audit_justification: "占比不足 2% 的类别未计入影响比：{why}",
    audit_selection_help: "选拔率：该组中得到此结果的比例。",
    audit_scoring_help: "评分率：该组中得分严格高于全体中位数的比例。",
    audit_m_advance: "建议进入下一轮", audit_m_advance_or_hold: "建议进入下一轮或待定",
    audit_m_overall: "总分", audit_m_dimension: "维度：{name}",
    audit_axis_sex: "按性别", audit_axis_race_ethnicity: "按种族/族裔", audit_axis_sex_x_race_ethnicity: "按性别 × 种族/族裔",
    audit_median: "中位数 {x}",
    audit_col_category: "类别", audit_col_n: "人数", audit_col_selected: "入选", audit_col_above: "高于中位数",
    audit_col_rate: "比率", audit_col_ci: "95% 区间", audit_col_ratio: "影响比", audit_col_flag: "低于 0.8",
    audit_col_fisher: "Fisher p", audit_col_shortfall: "差额", audit_col_notes: "备注",
    audit_flag_yes: "标记", audit_flag_no: "–",
    audit_small: "不足样本的 2%（{share}）", audit_small_excluded: "不足 2%（{share}）：未计入影响比",
    audit_fragile: "一个人的结果即可改变此标记", audit_reference: "参照组（比率最高）",
    audit_unknown: "未知", audit_unknown_note: "此维度无自报信息：计数，但不计入比率",
    audit_empty: "此期间没有带报告的面试。",
    charts_title: "图表", charts_scores: "总分分布", charts_count: "面试数",
    charts_validity: "效度：{dimension} 得分与绩效", charts_validity_r: "r = {r}（95% 置信区间 {low} 至 {high}），n = {n}",
    charts_validity_none: "暂无效度研究：{why}", charts_performance: "绩效", charts_fit: "拟合线",
    charts_hires: "录用者", charts_questions: "各问题版本的有效回答率（首次回答，95% 置信区间）",
    charts_rate: "有效回答", charts_ci: "95% 区间", charts_no_questions: "尚未提问任何问题。",
    charts_impact: "影响比：建议进入下一轮", charts_open_audit: "打开可打印的偏差审计",
    charts_load: "显示图表",
  },
};
for (const code of ["en", "zh"]) Object.assign(STRINGS[code], ANALYTICS_STRINGS[code]);
// ---- end of the HR analytics strings ----

// ---- the dashboard's workflow: invited and awaiting review, reviews due, offer suggestions, new hires' courses ----
const HANDOFF_STRINGS = {
  en: {
    offers_title: "Offer suggestions", offers_decider: "Your name (recorded with the decision)",
    offers_help: "Made when a human review is positive. Nothing is sent until a named person approves one.",
    offers_line: "{role}, {level}, start between {from} and {to}", offers_approve: "Approve", offers_reject: "Reject",
    offers_none: "No offer suggestion is waiting.", offers_need_name: "Enter your name first.",
    level_junior: "junior", level_mid: "mid-level", level_senior: "senior",
    training_title: "Courses for new hires", training_none: "No course recommendation yet.",
    training_no_course: "no course in the catalogue trains it",
    mail_title: "E-mail not sent", mail_held: "held", mail_failed: "failed",
    mail_help: "No SMTP server is configured (or it refused these): copy each message to the candidate or reviewer yourself.",
    invited: "Invited", awaiting_review: "Awaiting review", due_title: "Reviews due",
    due_none: "No review is waiting.", due_report_ready: "review by {who}",
    due_candidate_request: "the candidate asks for a human review", due_by: "due {when}",
  },
  zh: {
    offers_title: "录用建议", offers_decider: "您的姓名（与决定一同记录）",
    offers_help: "人工评审结论为正面时生成。在有署名的人批准之前，不会发出任何内容。",
    offers_line: "{role}，{level}，入职时间 {from} 至 {to}", offers_approve: "批准", offers_reject: "拒绝",
    offers_none: "没有待决定的录用建议。", offers_need_name: "请先填写您的姓名。",
    level_junior: "初级", level_mid: "中级", level_senior: "高级",
    training_title: "新员工课程", training_none: "暂无课程推荐。",
    training_no_course: "课程目录中没有对应的课程",
    mail_title: "未发送的邮件", mail_held: "待发", mail_failed: "发送失败",
    mail_help: "未配置 SMTP 服务器（或服务器拒收了这些邮件）：请自行把每封邮件转给候选人或评审人。",
    invited: "已邀请", awaiting_review: "待评审", due_title: "待完成的评审",
    due_none: "没有待完成的评审。", due_report_ready: "评审人：{who}",
    due_candidate_request: "候选人请求人工复核", due_by: "截止 {when}",
  },
};
for (const code of ["en", "zh"]) Object.assign(STRINGS[code], HANDOFF_STRINGS[code]);
// ---- end of the dashboard's workflow strings ----

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
