() => {
  // A phone (a narrow screen): Generate brings its results into view (they come before the
  // settings there, assets/app.css), so the picture is seen without scrolling for it.
  const narrow = window.matchMedia("(max-width: 768px)");
  document.addEventListener("click", (event) => {
    const button = event.target.closest("#txt2img_generate, #img2img_generate");
    if (!button || !narrow.matches) return;
    const tab = button.id.replace("_generate", "");
    const results = document.getElementById(`${tab}_results`);
    if (results) setTimeout(() => results.scrollIntoView({behavior: "smooth", block: "start"}),
                            150);
  }, true);
}
