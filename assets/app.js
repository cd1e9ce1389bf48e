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
}
