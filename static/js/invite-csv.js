// Sends a pasted or uploaded CSV of invitations in chunks, with a progress bar and a report of bad rows.
(function () {
  const box = document.getElementById("csv-invite");
  if (!box) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const report = document.getElementById("csv-report");
  const bar = document.getElementById("csv-progress");
  function cookie(name) {
    const m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : csrf;
  }
  function esc(s) { const d = document.createElement("div"); d.textContent = s; return d.innerHTML; }
  document.getElementById("csv-send").addEventListener("click", async function () {
    let text = document.getElementById("csv-text").value;
    const file = document.getElementById("csv-file").files[0];
    if (file) text = await file.text();
    const lines = text.split(/\r?\n/).filter(function (l) { return l.trim(); });
    if (!lines.length) { report.textContent = box.dataset.nothing; return; }
    let header = "";
    if (/^\s*name\s*,\s*email\s*$/i.test(lines[0])) header = lines.shift();
    const chunk = 100;
    let created = 0, already = 0; const problems = [];
    bar.hidden = false; bar.value = 0;
    for (let i = 0; i < lines.length; i += chunk) {
      const part = lines.slice(i, i + chunk);
      const res = await fetch(box.dataset.url, {
        method: "POST", credentials: "same-origin",
        headers: { "content-type": "application/json", "x-csrftoken": cookie("csrftoken") },
        body: JSON.stringify({ csv: part.join("\n") })
      });
      const body = await res.json();
      if (!res.ok) { problems.push({ line: "", row: "", error: body.detail || box.dataset.failed }); break; }
      created += body.created; already += body.already_invited;
      body.problems.forEach(function (p) { if (p.line) p.line += i + (header ? 1 : 0); problems.push(p); });
      bar.value = Math.round(100 * Math.min(lines.length, i + chunk) / lines.length);
    }
    let html = "<p>" + esc(box.dataset.summary.replace("{created}", created).replace("{already}", already)) + "</p>";
    if (problems.length) html += "<ul>" + problems.map(function (p) { return "<li>" + (p.line ? esc(box.dataset.line.replace("{line}", p.line)) + " " : "") + esc(p.error) + "</li>"; }).join("") + "</ul>";
    report.innerHTML = html;
  });
})();
