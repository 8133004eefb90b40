// Transcript words and evidence jump the answer's player to where they were said.
document.addEventListener("click", (event) => {
  const target = event.target.closest("[data-start]");
  if (!target) return;
  const question = target.dataset.question || target.closest("[data-question]")?.dataset.question;
  const video = document.querySelector(`[data-player][data-question="${question}"]`);
  if (!video) return;
  video.currentTime = parseFloat(target.dataset.start);
  video.play().catch(() => {});
});

// The word being spoken is marked as the video plays.
document.querySelectorAll("[data-player]").forEach((video) => {
  const words = document.querySelectorAll(`.transcript[data-question="${video.dataset.question}"] .word`);
  video.addEventListener("timeupdate", () => {
    words.forEach((word) => {
      const start = parseFloat(word.dataset.start);
      word.classList.toggle("now", start <= video.currentTime && video.currentTime < start + 0.6);
    });
  });
});
