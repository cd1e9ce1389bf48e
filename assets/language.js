() => {
  // The server renders its messages (warnings, status lines, the meter, History, the queue)
  // in the visitor's language: Accept-Language, unless this cookie names the language the
  // page shows. Gradio sets <html lang> from the browser and from its own language switch
  // (the footer's Settings); the cookie follows it, so the next message comes in that
  // language, and the page's hidden "page language" box tells what streams (the queue strip)
  // to start again in it.
  const valid = (lang) => /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(lang);
  let shown = (document.documentElement.lang || "").trim();
  const write = (lang) => {
    document.cookie = `zhiqite_lang=${lang}; path=/; max-age=31536000; SameSite=Lax`;
  };
  if (valid(shown)) write(shown);
  new MutationObserver(() => {
    const lang = (document.documentElement.lang || "").trim();
    if (!valid(lang) || lang === shown) return;
    shown = lang;
    write(lang);
    const box = document.querySelector("#zq_page_language textarea, #zq_page_language input");
    if (box) {
      box.value = lang;
      box.dispatchEvent(new Event("input", {bubbles: true}));
    }
  }).observe(document.documentElement, {attributes: true, attributeFilter: ["lang"]});
}
