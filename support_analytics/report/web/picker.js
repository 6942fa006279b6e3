/*
 * SupportPicker: the overview's multi-select lists (Region, Issue type): a button that opens a
 * list of checkboxes with All / None.
 *
 * Why not <details> inside the toolbar: the dashboard's toolbar cell is ~75 px tall with
 * overflow auto, so an open list positioned inside it was clipped under the value boxes at
 * every width from ~768 px up, and the mouse wheel scrolled the toolbar. The open list is
 * position: fixed, placed under (or, near the bottom of the window, over) its button, so no
 * ancestor clips it; it follows the button when the page scrolls or resizes.
 *
 * Keyboard: Tab reaches the button; Enter, Space or ArrowDown opens the list and focuses its
 * first checkbox; ArrowUp / ArrowDown / Home / End move between the list's controls, Space
 * toggles a checkbox, Escape closes and returns focus to the button. Tabbing out of the list,
 * a click outside it or opening the other picker closes it.
 *
 * A plain classic script (module scripts are blocked on file://); defines window.SupportPicker.
 */
(function () {
  'use strict';

  var current = null; // the open picker: one at a time
  var MARGIN = 8;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /**
   * create({label, dim, names, display}) -> {element, button, panel, open, close, isOpen}.
   * The checkboxes carry the names as their values; a 'change' event bubbles from them and
   * the All / None buttons carry data-set="all" / "none": the page listens on element.
   */
  function create(opts) {
    var id = 'sa-pick-' + opts.dim;
    var wrap = el('div', { class: 'sa-pick', 'data-dim': opts.dim });
    var button = el('button', { type: 'button', class: 'sa-pick-button', id: id + '-button',
      'aria-expanded': 'false', 'aria-controls': id + '-list' });
    button.appendChild(el('span', { class: 'sa-pick-label' }, opts.label + ': '));
    button.appendChild(el('span', { class: 'sa-pick-value' }, 'All'));
    var panel = el('fieldset', { class: 'sa-pick-options', id: id + '-list' });
    panel.hidden = true;
    panel.appendChild(el('legend', { class: 'visually-hidden' }, opts.label));
    var buttons = el('div', { class: 'sa-pick-buttons' });
    ['all', 'none'].forEach(function (set) {
      buttons.appendChild(el('button', { type: 'button', 'data-set': set,
        class: 'btn btn-sm btn-outline-secondary' }, set === 'all' ? 'All' : 'None'));
    });
    panel.appendChild(buttons);
    opts.names.forEach(function (name) {
      var shown = opts.display(name);
      var row = el('label', { class: 'sa-pick-option', title: shown });
      var input = el('input', { type: 'checkbox' });
      input.value = name;
      row.appendChild(input);
      row.appendChild(el('span', { class: 'sa-pick-name' }, shown));
      panel.appendChild(row);
    });
    wrap.appendChild(button);
    wrap.appendChild(panel);

    var api = {
      element: wrap,
      button: button,
      panel: panel,
      isOpen: function () { return !panel.hidden; },
      open: open,
      close: close,
      place: place
    };

    function controls() {
      return Array.prototype.slice.call(panel.querySelectorAll('button, input'));
    }

    /** Under the button, inside the window; over it when there is more room above. */
    function place() {
      var r = button.getBoundingClientRect();
      var vw = document.documentElement.clientWidth, vh = window.innerHeight;
      panel.style.maxWidth = Math.max(160, vw - 2 * MARGIN) + 'px';
      var below = vh - r.bottom - MARGIN - 4, above = r.top - MARGIN - 4;
      var up = below < 180 && above > below;
      panel.style.maxHeight = Math.max(120, Math.min(up ? above : below, 0.7 * vh)) + 'px';
      var left = Math.min(r.left, vw - panel.offsetWidth - MARGIN);
      panel.style.left = Math.max(MARGIN, left) + 'px';
      if (up) {
        panel.style.top = 'auto';
        panel.style.bottom = (vh - r.top + 4) + 'px';
      } else {
        panel.style.bottom = 'auto';
        panel.style.top = (r.bottom + 4) + 'px';
      }
    }

    function open(focusFirst) {
      if (current && current !== api) current.close(false);
      panel.hidden = false;
      button.setAttribute('aria-expanded', 'true');
      wrap.classList.add('sa-open');
      current = api;
      place();
      if (focusFirst) {
        var first = panel.querySelector('input') || controls()[0];
        if (first) first.focus();
      }
    }

    function close(returnFocus) {
      if (panel.hidden) return;
      panel.hidden = true;
      button.setAttribute('aria-expanded', 'false');
      wrap.classList.remove('sa-open');
      if (current === api) current = null;
      if (returnFocus) button.focus();
    }

    button.addEventListener('click', function (e) {
      // e.detail is 0 for a click made with Enter or Space: keyboard users land in the list
      if (panel.hidden) open(e.detail === 0);
      else close(false);
    });
    button.addEventListener('keydown', function (e) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        open(true);
      } else if (e.key === 'Escape' && !panel.hidden) {
        e.preventDefault();
        close(true);
      }
    });
    panel.addEventListener('keydown', function (e) {
      var list = controls();
      var at = list.indexOf(document.activeElement);
      var to = null;
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        close(true);
        return;
      }
      if (e.key === 'ArrowDown') to = Math.min(at + 1, list.length - 1);
      else if (e.key === 'ArrowUp') to = Math.max(at - 1, 0);
      else if (e.key === 'Home') to = 0;
      else if (e.key === 'End') to = list.length - 1;
      else if (e.key === 'Enter' && document.activeElement.type === 'checkbox') {
        document.activeElement.click(); // Enter toggles too, as Space does
        to = at;
      }
      if (to !== null) {
        e.preventDefault();
        if (list[to]) list[to].focus();
      }
    });
    wrap.addEventListener('focusout', function (e) {
      if (e.relatedTarget && !wrap.contains(e.relatedTarget)) close(false);
    });
    return api;
  }

  // One set of window listeners for every picker: close on an outside press, follow the
  // button when the page scrolls or the window resizes.
  document.addEventListener('pointerdown', function (e) {
    if (current && !current.element.contains(e.target)) current.close(false);
  }, true);
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && current) current.close(current.element.contains(document.activeElement));
  });
  window.addEventListener('resize', function () { if (current) current.place(); });
  window.addEventListener('scroll', function (e) {
    if (current && e.target !== current.panel) current.place();
  }, true);

  window.SupportPicker = { create: create };
})();
