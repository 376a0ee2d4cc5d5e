/* The pipeline board's drag and drop (HTML5), served with crm/admin/board.html.
 *
 * A card dropped on another stage is shown there at once and POSTed to the board's move
 * view (crm/admin_board.py) with the version it was drawn with; a won or lost stage first
 * asks why in a dialog. The answer replaces the card and every stage's totals; a refusal
 * says why and the card goes back where it was. Without this script the board is shown
 * all the same, read-only.
 */
(function () {
  "use strict";

  const board = document.querySelector(".crm-board[data-move-url]");
  const dialog = document.getElementById("crm-board-reason");
  const status = document.getElementById("crm-board-status");
  if (!board || !dialog || !status) {
    return;
  }
  const csrfToken = board.querySelector("input[name=csrfmiddlewaretoken]").value;
  let dragged = null; // {card, from, next}: the card and where it came from

  function say(text, level) {
    const list = document.createElement("ul");
    list.className = "messagelist";
    const item = document.createElement("li");
    item.className = level;
    item.textContent = text;
    list.append(item);
    status.replaceChildren(list);
  }

  function columnOf(node) {
    return node instanceof Element ? node.closest(".crm-column") : null;
  }

  function highlight(column) {
    for (const other of board.querySelectorAll(".crm-over")) {
      if (other !== column) {
        other.classList.remove("crm-over");
      }
    }
    if (column) {
      column.classList.add("crm-over");
    }
  }

  function snapBack(move) {
    move.from.insertBefore(move.card, move.next && move.next.parentNode === move.from ? move.next : null);
  }

  function askReason(column, card) {
    return new Promise(function (resolve) {
      const kind = column.dataset.closing;
      const text = dialog.querySelector("textarea");
      dialog.querySelector("h2").textContent =
        (kind === "won" ? "Won: " : "Lost: ") + card.dataset.name;
      dialog.querySelector("label").textContent =
        kind === "won" ? "Why was it won?" : "Why was it lost?";
      text.value = "";
      text.maxLength = Number(dialog.dataset[kind + "Max"]);
      dialog.returnValue = "";
      dialog.addEventListener(
        "close",
        function () {
          resolve(dialog.returnValue === "move" ? text.value.trim() : null);
        },
        { once: true }
      );
      dialog.showModal();
    });
  }

  async function send(move, column, reason) {
    const card = move.card;
    const body = new FormData();
    body.append("opportunity", card.dataset.opportunity);
    body.append("stage", column.dataset.stage);
    body.append("version", card.dataset.version);
    body.append("reason", reason);
    card.classList.add("crm-pending");
    let answer = {};
    let ok = false;
    try {
      const response = await fetch(board.dataset.moveUrl, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken, Accept: "application/json" },
      });
      ok = response.ok;
      answer = await response.json().catch(function () {
        return {};
      });
      if (!ok && !answer.error) {
        answer.error = "The deal was not moved (the server answered " + response.status + ").";
      }
    } catch (error) {
      answer = { error: "The server could not be reached: the deal was not moved." };
    }
    card.classList.remove("crm-pending");
    if (!ok) {
      snapBack(move);
      say(answer.error, "error");
      return;
    }
    const fresh = document.createElement("template");
    fresh.innerHTML = answer.card.trim();
    card.replaceWith(fresh.content.firstElementChild);
    for (const [stage, html] of Object.entries(answer.sums)) {
      const sum = board.querySelector('.crm-column[data-stage="' + stage + '"] .crm-sum');
      if (sum) {
        sum.innerHTML = html;
      }
    }
    say("“" + card.dataset.name + "” moved to " + column.dataset.stageName + ".", "success");
  }

  board.addEventListener("dragstart", function (event) {
    const card = event.target instanceof Element ? event.target.closest(".crm-card") : null;
    if (!card || card.getAttribute("draggable") !== "true" || card.classList.contains("crm-pending")) {
      return;
    }
    dragged = { card: card, from: card.parentNode, next: card.nextSibling };
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.opportunity);
    card.classList.add("crm-dragging");
  });

  board.addEventListener("dragover", function (event) {
    const column = columnOf(event.target);
    if (!dragged || !column) {
      return;
    }
    event.preventDefault(); // a stage accepts the drop
    event.dataTransfer.dropEffect = "move";
    highlight(column);
  });

  board.addEventListener("dragend", function () {
    if (dragged) {
      dragged.card.classList.remove("crm-dragging");
      dragged = null;
    }
    highlight(null);
  });

  board.addEventListener("drop", async function (event) {
    const column = columnOf(event.target);
    if (!dragged || !column) {
      return;
    }
    event.preventDefault();
    const move = dragged;
    dragged = null;
    move.card.classList.remove("crm-dragging");
    highlight(null);
    if (column === columnOf(move.from)) {
      return;
    }
    column.querySelector(".crm-cards").prepend(move.card);
    let reason = "";
    if (column.dataset.closing) {
      reason = await askReason(column, move.card);
      if (reason === null) {
        snapBack(move);
        return;
      }
    }
    await send(move, column, reason);
  });
})();
