/*
 * SupportTable: a sortable, searchable, paged table for the report's pages, drawn from JSON
 * rows (charts.interactive_table). Every cell is set with textContent, so a name such as
 * <img src=x onerror=alert(1)> shows as text. Numbers keep their type, sort as numbers and are
 * shown with a fixed number of digits; null shows as an en dash and sorts last.
 *
 * Written for this report instead of shipping DataTables (0.7 MB with its CSS, most of it
 * export and selection extensions the report never uses).
 *
 * A plain classic script (module scripts are blocked on file://) with no dependencies.
 *
 *   var table = new SupportTable(element, spec);   // spec: charts.interactive_table's JSON
 *   table.setRows(rows);                           // new data, same columns (page filters)
 *   table.setPageLength(n);                        // Infinity: every row on one page
 */
(function (root) {
  'use strict';

  var MISSING = '\u2013';

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function SupportTable(container, spec) {
    this.container = container;
    this.spec = spec;
    this.columns = spec.columns.map(function (c) {
      var fmt = c.numeric ? new Intl.NumberFormat('en-US', {
        minimumFractionDigits: c.decimals, maximumFractionDigits: c.decimals }) : null;
      return { title: c.title, numeric: c.numeric,
        show: function (v) {
          if (v === null || v === undefined) return MISSING;
          return fmt ? fmt.format(v) : String(v);
        } };
    });
    this.pageLength = spec.paging ? spec.pageLength : Infinity;
    this.page = 0;
    this.query = '';
    this.sortColumn = null;
    this.sortDescending = false;
    this.build();
    this.setRows(spec.rows);
  }

  SupportTable.prototype.build = function () {
    var self = this, spec = this.spec;
    var top = el('div', 'sa-dt-top');
    if (spec.paging) {
      var length = el('label', 'sa-dt-length');
      var select = el('select', 'form-select form-select-sm');
      spec.lengthMenu.forEach(function (n) {
        var option = el('option', '', String(n));
        option.value = String(n);
        option.selected = n === spec.pageLength;
        select.appendChild(option);
      });
      select.addEventListener('change', function () {
        self.setPageLength(Number(select.value));
      });
      length.appendChild(select);
      length.appendChild(document.createTextNode(' entries per page'));
      top.appendChild(length);
      this.lengthSelect = select;
    }
    if (spec.searching) {
      var search = el('label', 'sa-dt-search', 'Search: ');
      var input = el('input', 'form-control form-control-sm');
      input.type = 'search';
      input.addEventListener('input', function () {
        self.query = input.value.trim().toLowerCase();
        self.page = 0;
        self.render();
      });
      search.appendChild(input);
      top.appendChild(search);
    }
    var scroll = el('div', 'sa-dt-scroll');
    var table = el('table', 'sa-dt table table-sm');
    var head = el('thead');
    var headRow = el('tr');
    this.headers = this.columns.map(function (column, index) {
      var th = el('th', column.numeric ? 'dt-right' : 'dt-left');
      th.setAttribute('scope', 'col');
      th.setAttribute('aria-sort', 'none');
      var button = el('button', 'sa-dt-sort', column.title);
      button.type = 'button';
      button.addEventListener('click', function () { self.sortBy(index); });
      th.appendChild(button);
      headRow.appendChild(th);
      return th;
    });
    head.appendChild(headRow);
    this.body = el('tbody');
    table.appendChild(head);
    table.appendChild(this.body);
    scroll.appendChild(table);
    var bottom = el('div', 'sa-dt-bottom');
    this.info = el('div', 'sa-dt-info');
    this.info.setAttribute('aria-live', 'polite');
    this.pager = el('nav', 'sa-dt-pager');
    this.pager.setAttribute('aria-label', 'Table pages');
    bottom.appendChild(this.info);
    bottom.appendChild(this.pager);
    if (top.childNodes.length) this.container.appendChild(top);
    this.container.appendChild(scroll);
    if (spec.paging) this.container.appendChild(bottom);
  };

  /** New rows, same columns; keeps the sort and the search, goes back to page one. */
  SupportTable.prototype.setRows = function (rows) {
    var columns = this.columns;
    this.rows = rows.map(function (row, order) {
      return { values: row, order: order,
        text: row.map(function (v, i) { return columns[i].show(v); }) };
    });
    this.page = 0;
    this.render();
  };

  SupportTable.prototype.setPageLength = function (n) {
    this.pageLength = n > 0 ? n : Infinity;
    this.page = 0;
    this.render();
  };

  SupportTable.prototype.sortBy = function (index) {
    this.sortDescending = this.sortColumn === index ? !this.sortDescending
      : this.columns[index].numeric;  // numbers: largest first on the first click
    this.sortColumn = index;
    var self = this;
    this.headers.forEach(function (th, i) {
      th.setAttribute('aria-sort', i !== index ? 'none'
        : self.sortDescending ? 'descending' : 'ascending');
    });
    this.page = 0;
    this.render();
  };

  SupportTable.prototype.visibleRows = function () {
    var q = this.query, rows = this.rows;
    if (q) {
      rows = rows.filter(function (r) {
        return r.text.some(function (t) { return t.toLowerCase().indexOf(q) >= 0; });
      });
    }
    if (this.sortColumn !== null) {
      var i = this.sortColumn, numeric = this.columns[i].numeric, sign = this.sortDescending ? -1 : 1;
      rows = rows.slice().sort(function (a, b) {
        var x = a.values[i], y = b.values[i];
        if (x === null || y === null) {
          return (x === null) - (y === null) || a.order - b.order;  // missing values last
        }
        var c = numeric ? x - y : String(x).localeCompare(String(y));
        return sign * c || a.order - b.order;
      });
    }
    return rows;
  };

  SupportTable.prototype.render = function () {
    var rows = this.visibleRows();
    var size = this.pageLength;
    var pages = Math.max(1, Math.ceil(rows.length / size));
    if (this.page >= pages) this.page = pages - 1;
    var start = this.page * size;
    var shown = size === Infinity ? rows : rows.slice(start, start + size);
    var body = document.createDocumentFragment(), columns = this.columns;
    shown.forEach(function (row) {
      var tr = el('tr');
      row.text.forEach(function (text, i) {
        // short values stay on one line (a narrow screen scrolls the table sideways); long
        // ones (a rejected raw line) wrap
        var cls = (columns[i].numeric ? 'dt-right' : 'dt-left') + (text.length > 40 ? ' sa-dt-long' : '');
        tr.appendChild(el('td', cls, text));
      });
      body.appendChild(tr);
    });
    if (!shown.length) {
      var empty = el('td', 'sa-dt-empty', this.rows.length ? 'No matching rows' : 'No data');
      empty.colSpan = columns.length;
      var tr = el('tr');
      tr.appendChild(empty);
      body.appendChild(tr);
    }
    this.body.replaceChildren(body);
    if (this.lengthSelect && size !== Infinity) this.lengthSelect.value = String(size);
    this.info.textContent = rows.length
      ? 'Showing ' + (start + 1) + ' to ' + (start + shown.length) + ' of ' + rows.length +
        ' entries' + (rows.length < this.rows.length ? ' (filtered from ' + this.rows.length + ')' : '')
      : 'Showing 0 entries';
    this.renderPager(pages);
  };

  SupportTable.prototype.renderPager = function (pages) {
    var self = this, current = this.page;
    var buttons = document.createDocumentFragment();
    function add(label, target, name) {
      var b = el('button', 'btn btn-sm btn-outline-secondary', label);
      b.type = 'button';
      if (name) b.setAttribute('aria-label', name);
      if (target === current && label === String(target + 1)) b.setAttribute('aria-current', 'page');
      b.disabled = target < 0 || target >= pages || (target === current && label !== String(target + 1));
      b.addEventListener('click', function () { self.page = target; self.render(); });
      buttons.appendChild(b);
    }
    add('\u2039', current - 1, 'Previous page');
    var first = Math.max(0, Math.min(current - 2, pages - 5));
    for (var p = first; p < Math.min(pages, first + 5); p++) add(String(p + 1), p);
    add('\u203a', current + 1, 'Next page');
    this.pager.replaceChildren(buttons);
  };

  root.SupportTable = SupportTable;
})(typeof self !== 'undefined' ? self : this);
