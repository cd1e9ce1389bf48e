() => {
  // Ctrl+Up / Ctrl+Down (Cmd on macOS) in a prompt: the selection, or the word under the
  // caret, or the (group:weight) the caret is in, gets 0.1 more or less weight, as A1111's
  // edit-attention. "cat" -> "(cat:1.1)"; "(cat:1.1)" -> "(cat:1.2)"; back at 1 the brackets go.
  const STEP = 0.1;
  const DELIMITERS = /[\s.,\/!?%^*;:{}=`~()\[\]<>|]/;
  const WEIGHT_AFTER = /^:\s*(-?\d*\.?\d+)\s*\)/;

  // the (text:weight) group around the caret: [start of text, end of text] or null
  const groupAround = (text, caret) => {
    const open = text.lastIndexOf("(", caret - 1);
    if (open < 0 || text.slice(open, caret).includes(")")) return null;
    const colon = text.indexOf(":", open);
    const weight = colon < 0 ? null : text.slice(colon).match(WEIGHT_AFTER);
    if (!weight || caret >= colon + weight[0].length || text.slice(open + 1, colon).includes("(")) return null;
    return [open + 1, colon];
  };

  // a <lora:name:1> tag is the service's, not text to weigh
  const inTag = (text, caret) =>
    text.lastIndexOf("<", caret - 1) > text.lastIndexOf(">", caret - 1) && text.indexOf(">", caret) >= 0;

  const wordAround = (text, caret) => {
    let start = caret, end = caret;
    while (start > 0 && !DELIMITERS.test(text[start - 1])) start--;
    while (end < text.length && !DELIMITERS.test(text[end])) end++;
    return start < end ? [start, end] : null;
  };

  const reweigh = (area, up) => {
    const text = area.value;
    let start = area.selectionStart, end = area.selectionEnd;
    if (inTag(text, start) || inTag(text, end)) return false;
    if (start === end) {
      const found = groupAround(text, start) || wordAround(text, start);
      if (!found) return false;
      [start, end] = found;
    }
    while (start < end && /\s/.test(text[start])) start++;
    while (end > start && /\s/.test(text[end - 1])) end--;
    if (start === end) return false;
    const chosen = text.slice(start, end);
    const weighted = text[start - 1] === "(" && text.slice(end).match(WEIGHT_AFTER);
    const old = weighted ? parseFloat(weighted[1]) : 1;
    const weight = Math.round((old + (up ? STEP : -STEP)) * 100) / 100;
    const from = weighted ? start - 1 : start;
    const to = weighted ? end + weighted[0].length : end;
    // A1111's "1.1"; a finer weight keeps its second decimal ("1.35")
    const shown = weight.toFixed(2).replace(/(\.\d)0$/, "$1");
    const replacement = weight === 1 ? chosen : `(${chosen}:${shown})`;
    const inner = weight === 1 ? from : from + 1;
    area.value = text.slice(0, from) + replacement + text.slice(to);
    area.setSelectionRange(inner, inner + chosen.length);
    area.dispatchEvent(new Event("input", { bubbles: true }));  // Gradio reads the new value
    return true;
  };

  document.addEventListener("keydown", (event) => {
    if (!(event.ctrlKey || event.metaKey) || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) return;
    const area = event.target;
    if (!(area instanceof HTMLTextAreaElement) || !area.closest("[id$='_prompt']")) return;
    if (reweigh(area, event.key === "ArrowUp")) event.preventDefault();
  });
}
