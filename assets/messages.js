() => {
  // Chinese for what the server says after the page is built (warnings, status lines, the
  // cost meter), when the page is in Chinese: gr.I18n translates the labels, this the
  // messages. The table comes from webui/ui/messages.py.
  const table = __ZQ_MESSAGES__;
  const patterns = table.patterns.map(([source, chinese]) => [new RegExp(source), chinese]);
  const inChinese = () => (document.documentElement.lang || "").toLowerCase().startsWith("zh");
  const translate = (text) => {
    const stripped = text.trim();
    if (!stripped) return text;
    if (stripped in table.labels) return table.labels[stripped];
    for (const [pattern, chinese] of patterns) {
      const match = stripped.match(pattern);
      if (match) {
        return chinese.replace(/([$%])(\d)/g, (_, kind, i) =>
          kind === "$" ? translate(match[Number(i)] ?? "") : (match[Number(i)] ?? ""));
      }
    }
    return text;
  };
  // History's table and pager, and the queue strip, come rendered in the visitor's language
  // (webui/core/messages.py): nothing there is rewritten, a prompt shows as typed
  const WATCHED = ".toast-body, [id$='_status'], [id$='_meter'], #settings_key_status";
  const done = new WeakMap();  // text node -> the Chinese we put there
  const visit = (node) => {
    if (node.nodeType !== Node.TEXT_NODE || !inChinese()) return;
    if (done.get(node) === node.data) return;
    const parent = node.parentElement;
    if (!parent || !parent.closest(WATCHED)) return;
    const chinese = translate(node.data);
    if (chinese !== node.data) {
      done.set(node, chinese);
      node.data = chinese;
    }
  };
  const walk = (root) => {
    if (root.nodeType === Node.TEXT_NODE) return visit(root);
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) visit(node);
  };
  new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === "characterData") visit(record.target);
      for (const node of record.addedNodes) walk(node);
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
  window.zqTranslate = translate;  // for tests
}
