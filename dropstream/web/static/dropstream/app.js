// Small progressive enhancements; every page works without them.
document.addEventListener("click", (event) => {
  const toggle = event.target.closest("[data-toggle-nav]");
  if (toggle) {
    const nav = document.getElementById("nav");
    const open = nav.classList.toggle("open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  }
  const copy = event.target.closest("[data-copy]");
  if (copy) {
    const source = document.getElementById(copy.dataset.copy);
    const text = source.value || source.textContent;
    const done = () => { copy.textContent = "Copied"; setTimeout(() => { copy.textContent = "Copy"; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
    } else {
      source.select && source.select();
      document.execCommand("copy");
      done();
    }
  }
  const all = event.target.closest("[data-select-all]");
  if (all) {
    document.querySelectorAll("input[name=ids]").forEach((box) => { box.checked = all.checked; });
  }
});
// Confirm destructive actions: <form data-confirm="…">.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const submitter = event.submitter;
  const message = (submitter && submitter.dataset.confirm) || form.dataset.confirm;
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});
// Rule form: show only the chosen action's arguments (without script every fieldset shows).
const showArguments = (select) => {
  select.form.querySelectorAll("[data-arguments-for]").forEach((box) => {
    box.hidden = box.dataset.argumentsFor !== select.value;
  });
};
document.addEventListener("change", (event) => {
  if (event.target.matches("[data-action-select]")) {
    showArguments(event.target);
  }
});
document.querySelectorAll("[data-action-select]").forEach(showArguments);
