() => {
  // As A1111 does: while a task of this visitor runs, the browser tab's title says how far
  // it is ("[42%] ETA 12 s · Zhiqite WebUI"); the queue strip carries the words, rendered by
  // the server in the visitor's language (data-title on its head).
  const base = document.title || "Zhiqite WebUI";
  const show = () => {
    const head = document.querySelector("#zq_queue [data-title]");
    const progress = head ? (head.dataset.title || "").trim() : "";
    if (progress) window.zqSawRunning = true;  // a finish may be announced (app.py notify_js)
    const title = progress ? `${progress} · ${base}` : base;
    if (document.title !== title) document.title = title;
  };
  const watch = () => {
    const root = document.querySelector("#zq_queue");
    if (!root) return setTimeout(watch, 500);
    new MutationObserver(show).observe(root, {subtree: true, childList: true,
                                              attributes: true, characterData: true});
    show();
  };
  watch();
}
