// "Generate & download links" with a progress line: posts the form, counts the CSV rows as they stream,
// then saves the file. Without this script the form posts the ordinary way and the browser downloads it.
(function () {
  "use strict";
  var form = document.getElementById("generate-form");
  if (!form || !window.fetch || !window.ReadableStream || !window.DOMParser) { return; }
  var button = document.getElementById("generate");
  var status = document.getElementById("generate-status");
  var errorBox = document.getElementById("generate-error");
  var renewOffer = document.getElementById("renew-offer");

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = false;
    status.textContent = "";
  }

  function filenameOf(response) {
    var match = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    return match ? match[1] : "personal-links.csv";
  }

  function save(blob, name) {
    var anchor = document.createElement("a");
    anchor.href = URL.createObjectURL(blob);
    anchor.download = name;
    document.body.appendChild(anchor);
    anchor.click();
    anchor.remove();
    setTimeout(function () { URL.revokeObjectURL(anchor.href); }, 60000);
  }

  function refresh(ids) {
    // The funnel and the link list changed: take them from a fresh copy of this page.
    return fetch(window.location.href, {credentials: "same-origin"}).then(function (response) {
      return response.ok ? response.text() : "";
    }).then(function (html) {
      if (!html) { return; }
      var fresh = new DOMParser().parseFromString(html, "text/html");
      ids.forEach(function (id) {
        var now = document.getElementById(id), next = fresh.getElementById(id);
        if (now && next) { now.replaceWith(next); }
      });
    });
  }

  async function generate() {
    var select = form.elements.segment;
    var option = select.options[select.selectedIndex];
    var expected = Number(option && option.dataset.count) || 0;
    errorBox.hidden = true;
    renewOffer.hidden = true;
    status.textContent = "Generating " + expected + " links…";
    var response = await fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin"});
    if (!response.ok) {
      var page = new DOMParser().parseFromString(await response.text(), "text/html");
      var reason = page.getElementById("generate-error");
      showError(reason && reason.textContent.trim() ? reason.textContent.trim()
                                                    : "Generation failed: the server answered " + response.status);
      return;
    }
    expected = Number(response.headers.get("X-Link-Count")) || expected;
    var reader = response.body.getReader(), chunks = [], newlines = 0;
    for (;;) {
      var part = await reader.read();
      if (part.done) { break; }
      chunks.push(part.value);
      for (var i = 0; i < part.value.length; i++) { if (part.value[i] === 10) { newlines++; } }
      status.textContent = "Generating " + expected + " links… " + Math.max(newlines - 1, 0) + " written";
    }
    var name = filenameOf(response), rows = Math.max(newlines - 1, 0);
    save(new Blob(chunks, {type: "text/csv"}), name);
    // The X-Links-* headers say what became of links the contacts already held (kept, renewed, revoked).
    var summary = response.headers.get("X-Links-Summary");
    status.textContent = "Downloaded " + rows + " links" + (summary ? ": " + summary : "") + ". Saved as " + name + ".";
    renewOffer.hidden = !(Number(response.headers.get("X-Links-Renewable")) > 0);
    form.elements.renew.checked = false;
    await refresh(["funnel", "links"]);
  }

  // "Apply the new expiry to the kept links": the same download again, with renew ticked.
  document.getElementById("renew-again").addEventListener("click", function () {
    form.elements.renew.checked = true;
    form.requestSubmit();
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    generate().catch(function (error) {
      showError("Generation failed: " + error.message);
    }).finally(function () {
      button.disabled = false;
    });
  });
})();
