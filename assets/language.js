(gradioLabels) => {
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
  // Gradio's own labels its translations leave in English ("More tabs", the menu of the tabs
  // a narrow screen cannot show): the catalogue's words for them, by the page's language
  // ({lang: {english: words}}), kept in step as Gradio draws them again
  const relabel = () => {
    const lang = (document.documentElement.lang || "en").split("-")[0];
    const words = gradioLabels[lang] || gradioLabels.en || {};
    for (const [english, said] of Object.entries(words)) {
      const selector = `[aria-label="${english}"], [data-zq-label="${english}"]`;
      for (const element of document.querySelectorAll(selector)) {
        element.dataset.zqLabel = english;
        if (element.getAttribute("aria-label") !== said) element.setAttribute("aria-label", said);
      }
    }
  };
  relabel();
  new MutationObserver((changes) => {
    if (changes.some((change) => change.addedNodes.length)) relabel();
  }).observe(document.body, {childList: true, subtree: true});
  new MutationObserver(() => {
    const lang = (document.documentElement.lang || "").trim();
    if (!valid(lang) || lang === shown) return;
    shown = lang;
    write(lang);
    relabel();
    const box = document.querySelector("#zq_page_language textarea, #zq_page_language input");
    if (box) {
      box.value = lang;
      box.dispatchEvent(new Event("input", {bubbles: true}));
    }
  }).observe(document.documentElement, {attributes: true, attributeFilter: ["lang"]});
}
