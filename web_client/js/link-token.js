// A page opened from a candidate's link (/join/{id}?token=…, book.html?…&token=…): its token, taken out of the
// address at once, so the address bar, a bookmark or a copied address never carries it and the tab's history entry
// is replaced by one without it. The tab keeps it in sessionStorage, so a reload still works; another tab needs the
// link from the e-mail again. Where the browser refuses storage, the address keeps the token (else a reload would
// lock the candidate out).
export function takeToken(interviewId) {
  const key = `shanmian.token.${interviewId}`;
  const url = new URL(location.href);
  const given = url.searchParams.get("token");
  if (!given) {
    try {
      return sessionStorage.getItem(key) ?? "";
    } catch {
      return "";
    }
  }
  try {
    sessionStorage.setItem(key, given);
  } catch {
    return given;
  }
  url.searchParams.delete("token");
  history.replaceState(history.state, "", url.pathname + url.search + url.hash);
  return given;
}
