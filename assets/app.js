() => {
  // Ctrl+Enter (Cmd+Enter on macOS) generates in the tab whose prompt has the focus, as A1111.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    const tab = event.target.closest && event.target.closest("[id$='_toprow']");
    if (!tab) return;
    const name = tab.id.replace(/_toprow$/, "");
    const button = document.getElementById(`${name}_generate`);
    if (button) { event.preventDefault(); button.click(); }
  });
  // Tell the app whether this page is shown: steady live previews (billed) only while it is;
  // a hidden page gets the spaced-out ones.
  const report = () => {
    const box = document.querySelector("#zq_page_visible input");
    if (box && box.checked === document.hidden) box.click();
  };
  document.addEventListener("visibilitychange", report);
  // A choice box that sends an "input" when clicked into and left unchanged: the value it
  // held when the visitor came in, for its event to tell a pick from a click-away
  // (webui/ui/extensions.py, PICKED_JS)
  document.addEventListener("focusin", (event) => {
    const box = event.target;
    if (box instanceof HTMLInputElement && box.closest(".zq-picked-on-input")) {
      box.dataset.zqBefore = box.value;
    }
  });
}
