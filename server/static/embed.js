// In the overlay dialog on the publisher's page, Escape closes the dialog even while the focus
// is inside this frame (a key press never leaves a frame on its own).
document.addEventListener("keydown", function (e) {
  if (e.key === "Escape" && window.parent !== window) {
    window.parent.postMessage({ buybutton: "close" }, "*");
  }
});
