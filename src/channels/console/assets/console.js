// meetcheck console, in the browser. Draws the card JSON the bot sends (Feishu card JSON 2.0 and
// WeCom template_card) the way those clients show it. Card text is untrusted vendor text (names,
// subjects, problems): every piece of it goes into the page through textContent or a text node,
// never innerHTML, and links only ever get http(s) URLs. No build step, no external assets.
'use strict';

(() => {
  const config = JSON.parse(document.getElementById('mc-config').textContent);
  const L = config.labels;
  const log = document.getElementById('log');
  const form = document.getElementById('command-form');
  const input = document.getElementById('command');
  const sendButton = document.getElementById('send');
  /** Every bot answer in the log, so the switch can redraw them all. */
  const entries = [];
  let surface = 'feishu';
  /** While attendees of a lazily loaded report come in, the shown page is asked for again this often. */
  const POLL_MS = 1000;

  // ---------------------------------------------------------------- DOM helpers

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function str(v) {
    return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
  }

  // ---------------------------------------------------------------- markdown (Feishu card §4.1, WeCom markdown)

  const NAMED_ENTITIES = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'", nbsp: '\u00a0' };

  function decodeEntity(body) {
    if (body[0] === '#') {
      const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      if (!Number.isFinite(code) || code < 1 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return undefined;
      return String.fromCodePoint(code);
    }
    return NAMED_ENTITIES[body.toLowerCase()];
  }

  /**
   * Markdown as Feishu's card markdown reads it: **bold**, *italic*, ~~strike~~, [text](url),
   * <font color='…'>, <at id=…></at>, <br>, headings, "- " lists, "> " quotes; backslash escapes
   * and HTML entities (the ways a renderer can escape vendor text) come out as the literal
   * character. Anything else shows as written. `colors` maps the dialect's colour names to ours.
   */
  function markdown(text, colors) {
    const root = document.createDocumentFragment();
    const stack = [{ kind: 'root', node: root }];
    let buf = '';
    let i = 0;
    let lineStart = true;
    const top = () => stack[stack.length - 1];
    const flush = () => {
      if (buf) top().node.append(document.createTextNode(buf));
      buf = '';
    };
    const open = (kind, node) => {
      flush();
      top().node.append(node);
      stack.push({ kind, node });
    };
    const isOpen = (kind) => stack.some((s) => s.kind === kind);
    const close = (kind) => {
      flush();
      for (let k = stack.length - 1; k > 0; k--) {
        if (stack[k].kind === kind) {
          stack.length = k;
          return;
        }
      }
    };
    const closeLine = () => {
      flush();
      while (stack.length > 1 && top().kind.startsWith('line')) stack.pop();
    };
    const toggle = (kind, tag, marker) => {
      if (top().kind === kind) close(kind);
      else if (!isOpen(kind) && text.indexOf(marker, i + marker.length) > i + marker.length) open(kind, el(tag, `md-${kind}`));
      else buf += marker;
      i += marker.length;
    };

    while (i < text.length) {
      if (lineStart) {
        lineStart = false;
        const head = text.slice(i, i + 8);
        let m;
        if ((m = /^(#{1,6}) +/.exec(head))) {
          open('line-h', el('strong', `md-h md-h${m[1].length}`));
          i += m[0].length;
        } else if ((m = /^[-*+] +/.exec(head)) && !text.startsWith('**', i)) {
          buf += '• ';
          i += m[0].length;
        } else if ((m = /^> ?/.exec(head))) {
          open('line-q', el('span', 'md-quote'));
          i += m[0].length;
        }
        continue;
      }
      const c = text[i];
      if (c === '\\' && i + 1 < text.length && /[\\`*_{}[\]()#+\-.!<>~|&"']/.test(text[i + 1])) {
        buf += text[i + 1];
        i += 2;
        continue;
      }
      if (c === '&') {
        const m = /^&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,6});/.exec(text.slice(i, i + 12));
        const decoded = m && decodeEntity(m[1]);
        if (decoded !== undefined && decoded !== null) {
          buf += decoded;
          i += m[0].length;
          continue;
        }
      }
      if (c === '\n') {
        closeLine();
        top().node.append(el('br'));
        i++;
        lineStart = true;
        continue;
      }
      if (c === '<') {
        const rest = text.slice(i, i + 200);
        let m;
        if ((m = /^<font\s+color\s*=\s*(['"]?)([a-zA-Z_-]{1,20})\1\s*>/.exec(rest)) && text.indexOf('</font>', i) > i) {
          const colour = colors[m[2].toLowerCase()];
          open('font', el('span', colour ? `md-c-${colour}` : 'md-font'));
          i += m[0].length;
          continue;
        }
        if (text.startsWith('</font>', i) && isOpen('font')) {
          close('font');
          i += '</font>'.length;
          continue;
        }
        if ((m = /^<at\s+([a-z_]+)\s*=\s*(['"]?)([^'"\s<>]{0,100})\2\s*>\s*<\/at>/i.exec(rest))) {
          flush();
          const who = m[3] === 'all' ? L.all : m[3];
          const mention = el('span', 'mention', `@${who}`);
          mention.title = `<at ${m[1]}=${m[3]}>`;
          top().node.append(mention);
          i += m[0].length;
          continue;
        }
        if ((m = /^<br\s*\/?>/i.exec(rest))) {
          flush();
          top().node.append(el('br'));
          i += m[0].length;
          continue;
        }
      }
      if (text.startsWith('**', i)) {
        toggle('b', 'strong', '**');
        continue;
      }
      if (text.startsWith('~~', i)) {
        toggle('s', 's', '~~');
        continue;
      }
      if (c === '*') {
        toggle('i', 'em', '*');
        continue;
      }
      if (c === '[') {
        const m = /^\[([^\]\n]{0,500})\]\(([^()\s]{0,2000})\)/.exec(text.slice(i, i + 2600));
        if (m) {
          flush();
          const label = markdown(m[1], colors);
          let link;
          if (/^https?:\/\//i.test(m[2])) {
            link = el('a', 'md-link');
            link.href = m[2];
            link.target = '_blank';
            link.rel = 'noopener noreferrer';
          } else {
            link = el('span', 'md-link');
          }
          link.append(label);
          top().node.append(link);
          i += m[0].length;
          continue;
        }
      }
      buf += c;
      i++;
    }
    flush();
    return root;
  }

  // ---------------------------------------------------------------- Feishu card JSON 2.0

  /** Header `template` values (open.feishu.cn/document/feishu-cards/card-json-v2-structure). */
  const TEMPLATES_FEISHU = new Set(['blue', 'wathet', 'turquoise', 'green', 'yellow', 'orange', 'red', 'carmine', 'violet', 'purple', 'indigo', 'grey', 'default']);
  const COLORS_FEISHU = {
    red: 'red', green: 'green', grey: 'grey', gray: 'grey', blue: 'blue', wathet: 'blue', turquoise: 'green',
    orange: 'orange', yellow: 'orange', carmine: 'red', violet: 'purple', purple: 'purple', indigo: 'blue',
    'red-500': 'red', 'green-500': 'green', 'grey-600': 'grey', 'orange-500': 'orange', 'blue-500': 'blue',
  };
  /** Button `type` values (§4.1). */
  const BUTTON_TYPES_FEISHU = new Set(['default', 'primary', 'danger', 'text', 'primary_text', 'danger_text', 'primary_filled', 'danger_filled', 'laser']);

  /** A Feishu text object: {tag:'plain_text'|'lark_md', content}. */
  function feishuText(t) {
    if (!t) return document.createDocumentFragment();
    if (typeof t === 'string') return document.createTextNode(t);
    const content = str(t.content);
    if (t.tag === 'lark_md' || t.tag === 'markdown') return markdown(content, COLORS_FEISHU);
    return document.createTextNode(content);
  }

  function feishuPlain(t) {
    return t && typeof t === 'object' ? str(t.content) : str(t);
  }

  /** The action a Feishu button carries: behaviors[].value (2.0) or value (1.0), an object {action} or a string. */
  function feishuButtonAction(b) {
    const callback = Array.isArray(b.behaviors) ? b.behaviors.find((x) => x && x.type === 'callback') : undefined;
    const value = callback ? callback.value : b.value;
    if (typeof value === 'string') return value;
    if (value && typeof value.action === 'string') return value.action;
    return undefined;
  }

  function renderFeishu(card, onAction) {
    const root = el('article', 'fs-card');
    const header = card.header;
    if (header) {
      const template = TEMPLATES_FEISHU.has(header.template) ? header.template : 'default';
      const h = el('header', `fs-header fs-t-${template}`);
      h.dataset.template = template;
      const title = el('h3', 'fs-title');
      title.append(feishuText(header.title));
      h.append(title);
      if (header.subtitle) {
        const sub = el('p', 'fs-subtitle');
        sub.append(feishuText(header.subtitle));
        h.append(sub);
      }
      if (Array.isArray(header.text_tag_list)) {
        const tags = el('p', 'fs-tags');
        for (const tag of header.text_tag_list) tags.append(el('span', `fs-tag fs-tag-${TEMPLATES_FEISHU.has(tag.color) ? tag.color : 'default'}`, feishuPlain(tag.text)));
        h.append(tags);
      }
      root.append(h);
      root.setAttribute('aria-label', feishuPlain(header.title));
    }
    const body = el('div', 'fs-body');
    const elements = (card.body && card.body.elements) || card.elements || [];
    for (const e of elements) body.append(feishuElement(e, onAction));
    root.append(body);
    return root;
  }

  function feishuElement(e, onAction) {
    if (!e || typeof e !== 'object') return document.createDocumentFragment();
    switch (e.tag) {
      case 'markdown': {
        const d = el('div', `fs-md fs-align-${e.text_align === 'center' || e.text_align === 'right' ? e.text_align : 'left'}`);
        if (e.text_size === 'notation' || e.text_size === 'small') d.classList.add('fs-small');
        d.append(markdown(str(e.content), COLORS_FEISHU));
        return d;
      }
      case 'plain_text':
      case 'lark_md': {
        const d = el('div', 'fs-md');
        d.append(feishuText(e));
        return d;
      }
      case 'div': {
        const d = el('div', 'fs-div');
        if (e.text) {
          const text = el('div', 'fs-md');
          text.append(feishuText(e.text));
          d.append(text);
        }
        if (Array.isArray(e.fields)) {
          const grid = el('div', 'fs-fields');
          for (const f of e.fields) {
            const cell = el('div', f.is_short ? 'fs-field fs-short' : 'fs-field');
            cell.append(feishuText(f.text));
            grid.append(cell);
          }
          d.append(grid);
        }
        return d;
      }
      case 'hr':
        return el('hr', 'fs-hr');
      case 'note': {
        const d = el('div', 'fs-note');
        for (const n of e.elements || []) d.append(n.tag === 'img' ? el('span', 'fs-img-inline', `[${L.image}]`) : feishuText(n));
        return d;
      }
      case 'column_set': {
        const d = el('div', `fs-columns fs-flex-${['flow', 'bisect', 'trisect', 'stretch'].includes(e.flex_mode) ? e.flex_mode : 'none'}`);
        if (e.background_style && e.background_style !== 'default') d.classList.add('fs-bg');
        for (const c of e.columns || []) d.append(feishuElement({ ...c, tag: 'column' }, onAction));
        return d;
      }
      case 'column': {
        const d = el('div', 'fs-column');
        if (e.width === 'weighted') d.style.flex = `${Math.max(1, Math.min(5, Number(e.weight) || 1))} 1 0`;
        else if (typeof e.width === 'string' && /^\d{1,4}px$/.test(e.width)) d.style.flex = `0 0 ${e.width}`;
        else d.style.flex = '0 0 auto';
        if (e.vertical_align === 'center' || e.vertical_align === 'bottom') d.classList.add(`fs-v-${e.vertical_align}`);
        for (const c of e.elements || []) d.append(feishuElement(c, onAction));
        return d;
      }
      case 'action': {
        // Card JSON 1.0 only (§4.2); shown so a 1.0 card is visibly what it is, not silently dropped.
        const d = el('div', 'fs-columns fs-flex-flow');
        for (const b of e.actions || []) d.append(feishuElement(b, onAction));
        return d;
      }
      case 'button': {
        const type = BUTTON_TYPES_FEISHU.has(e.type) ? e.type : 'default';
        const b = el('button', `fs-btn fs-btn-${type}`);
        b.type = 'button';
        b.append(document.createTextNode(feishuPlain(e.text)));
        const action = feishuButtonAction(e);
        if (e.disabled) {
          b.disabled = true;
          if (e.disabled_tips) b.title = feishuPlain(e.disabled_tips);
        } else if (action !== undefined) {
          b.dataset.action = action;
          b.addEventListener('click', () => onAction(action, b));
        }
        if (e.width === 'fill') b.classList.add('fs-btn-fill');
        return b;
      }
      case 'table': {
        const table = el('table', 'fs-table');
        const cols = Array.isArray(e.columns) ? e.columns : [];
        const head = el('tr');
        for (const c of cols) head.append(el('th', '', str(c.display_name) || str(c.name)));
        const thead = el('thead');
        thead.append(head);
        table.append(thead);
        const tbody = el('tbody');
        for (const r of e.rows || []) {
          const tr = el('tr');
          for (const c of cols) {
            const td = el('td');
            const v = r[c.name];
            if (c.data_type === 'lark_md' || c.data_type === 'markdown') td.append(markdown(str(v), COLORS_FEISHU));
            else if (Array.isArray(v)) td.textContent = v.map((o) => (o && typeof o === 'object' ? str(o.text) : str(o))).join(', ');
            else td.textContent = str(v);
            tr.append(td);
          }
          tbody.append(tr);
        }
        table.append(tbody);
        return table;
      }
      case 'collapsible_panel': {
        const d = el('details', 'fs-panel');
        d.open = Boolean(e.expanded);
        const s = el('summary');
        s.append(feishuText(e.header && e.header.title));
        d.append(s);
        for (const c of e.elements || []) d.append(feishuElement(c, onAction));
        return d;
      }
      case 'interactive_container':
      case 'form': {
        const d = el('div', 'fs-container');
        for (const c of e.elements || []) d.append(feishuElement(c, onAction));
        return d;
      }
      case 'img':
        return el('div', 'fs-img', `[${L.image}${e.alt ? `: ${feishuPlain(e.alt)}` : ''}]`);
      default:
        // Visible on purpose: an engineer changing a card should see what this preview cannot draw.
        return el('div', 'unsupported', `[${L.unsupported}: ${str(e.tag) || '?'}]`);
    }
  }

  // ---------------------------------------------------------------- WeCom template_card (WeCom doc 101032)

  /** WeCom markdown colours: info green, comment grey, warning orange. */
  const COLORS_WECOM = { info: 'green', comment: 'grey', warning: 'orange' };
  /** source.desc_color: 0 grey, 1 black, 2 red, 3 green (§3 Limits). */
  const DESC_COLORS_WECOM = ['grey', 'black', 'red', 'green'];

  /** A WeCom reply: a template_card, or a message wrapping one, a markdown message or a stream. */
  function renderWecom(obj, onAction) {
    if (!obj || typeof obj !== 'object') return el('div', 'unsupported', `[${L.unsupported}]`);
    if (obj.card_type) return renderTemplateCard(obj, onAction);
    if (obj.template_card) {
      const frag = document.createDocumentFragment();
      if (obj.stream) frag.append(renderWecomStream(str(obj.stream.content)));
      frag.append(renderTemplateCard(obj.template_card, onAction));
      return frag;
    }
    if (obj.msgtype === 'markdown' && obj.markdown) return renderWecomText(str(obj.markdown.content), true);
    if (obj.msgtype === 'text' && obj.text) return renderWecomText(str(obj.text.content), false);
    if (obj.msgtype === 'stream' && obj.stream) return renderWecomStream(str(obj.stream.content));
    return el('div', 'unsupported', `[${L.unsupported}: ${str(obj.msgtype) || '?'}]`);
  }

  function renderWecomText(text, isMarkdown) {
    const d = el('div', 'wc-text');
    if (isMarkdown) d.append(markdown(text, COLORS_WECOM));
    else d.textContent = text;
    return d;
  }

  function renderWecomStream(text) {
    const d = el('div', 'wc-text wc-stream');
    d.append(el('span', 'wc-stream-tag', L.stream), markdown(text, COLORS_WECOM));
    return d;
  }

  function renderTemplateCard(tc, onAction) {
    const root = el('article', `wc-card wc-${str(tc.card_type) || 'unknown'}`);
    if (tc.source) {
      const s = el('p', `wc-source wc-c-${DESC_COLORS_WECOM[Number(tc.source.desc_color) || 0] || 'grey'}`, str(tc.source.desc));
      root.append(s);
    }
    if (tc.main_title) {
      const t = el('h3', 'wc-title', str(tc.main_title.title));
      root.append(t);
      root.setAttribute('aria-label', str(tc.main_title.title));
      if (tc.main_title.desc) root.append(el('p', 'wc-desc', str(tc.main_title.desc)));
    }
    if (tc.emphasis_content) {
      const em = el('div', 'wc-emphasis');
      em.append(el('div', 'wc-em-title', str(tc.emphasis_content.title)), el('div', 'wc-em-desc', str(tc.emphasis_content.desc)));
      root.append(em);
    }
    if (tc.quote_area) {
      const q = el('blockquote', 'wc-quote');
      if (tc.quote_area.title) q.append(el('div', 'wc-quote-title', str(tc.quote_area.title)));
      if (tc.quote_area.quote_text) q.append(el('div', 'wc-quote-text', str(tc.quote_area.quote_text)));
      root.append(q);
    }
    if (tc.sub_title_text) root.append(el('p', 'wc-subtitle', str(tc.sub_title_text)));
    if (Array.isArray(tc.horizontal_content_list) && tc.horizontal_content_list.length) {
      const dl = el('dl', 'wc-hlist');
      for (const item of tc.horizontal_content_list) {
        const row = el('div', 'wc-hrow');
        row.append(el('dt', '', str(item.keyname)));
        const dd = el('dd', Number(item.type) === 1 ? 'wc-link' : '', Number(item.type) === 3 && !item.value ? `@${str(item.userid)}` : str(item.value));
        row.append(dd);
        dl.append(row);
      }
      root.append(dl);
    }
    if (Array.isArray(tc.jump_list) && tc.jump_list.length) {
      const j = el('ul', 'wc-jumps');
      for (const item of tc.jump_list) j.append(el('li', 'wc-link', str(item.title)));
      root.append(j);
    }
    if (tc.button_selection) {
      const bs = tc.button_selection;
      const label = el('label', 'wc-selection');
      label.append(document.createTextNode(str(bs.title)));
      const select = el('select');
      select.disabled = true;
      for (const o of bs.option_list || []) {
        const opt = el('option', '', str(o.text));
        opt.selected = o.id === bs.selected_id;
        select.append(opt);
      }
      label.append(select);
      root.append(label);
    }
    if (Array.isArray(tc.button_list) && tc.button_list.length) {
      const row = el('div', 'wc-buttons');
      for (const btn of tc.button_list) {
        const style = [1, 2, 3, 4].includes(Number(btn.style)) ? Number(btn.style) : 1;
        const b = el('button', `wc-btn wc-btn-${style}`, str(btn.text));
        b.type = 'button';
        if (typeof btn.key === 'string') {
          b.dataset.action = btn.key;
          b.addEventListener('click', () => onAction(btn.key, b));
        } else {
          b.disabled = true;
        }
        row.append(b);
      }
      root.append(row);
    }
    return root;
  }

  // ---------------------------------------------------------------- conversation

  function addUser(text) {
    const li = el('li', 'msg msg-user');
    li.append(el('span', 'who', L.you), el('div', 'bubble', text));
    log.append(li);
    li.scrollIntoView({ block: 'end' });
  }

  function addBot() {
    const li = el('li', 'msg msg-bot');
    const host = el('div', 'card-host');
    host.tabIndex = -1;
    const details = el('details', 'json');
    const summary = el('summary', '', L.json);
    const pre = el('pre');
    details.append(summary, pre);
    li.append(el('span', 'who', L.bot), host, details);
    log.append(li);
    const entry = { li, host, pre, reply: undefined, busy: false, timer: undefined };
    entries.push(entry);
    return entry;
  }

  function addError(text) {
    const entry = addBot();
    entry.host.append(el('div', 'error', text));
    entry.host.setAttribute('role', 'alert');
    entry.li.querySelector('details').remove();
  }

  /** Draws one answer on the current surface, keeping keyboard focus on the same button. */
  function draw(entry) {
    const reply = entry.reply;
    if (!reply) return;
    const focused = entry.host.contains(document.activeElement) ? document.activeElement : undefined;
    const focusKey = focused && focused.tagName === 'BUTTON' ? focusKeyOf(entry, focused) : undefined;
    entry.host.replaceChildren();
    let shown;
    if (reply.type === 'progress' && surface === 'wecom') {
      shown = { msgtype: 'stream', stream: { content: reply.text } };
    } else {
      shown = reply[surface].card;
    }
    const onAction = (action, button) => click(entry, action, button);
    entry.host.append(surface === 'feishu' ? renderFeishu(shown, onAction) : renderWecom(shown, onAction));
    entry.host.setAttribute('aria-busy', entry.busy || reply.type === 'progress' || reply.loading ? 'true' : 'false');
    entry.host.dataset.surface = surface;
    entry.host.dataset.type = reply.type;
    entry.host.dataset.draws = String(Number(entry.host.dataset.draws || 0) + 1);
    entry.pre.textContent = JSON.stringify(shown, null, 2);
    if (focusKey) restoreFocus(entry, focusKey);
  }

  function focusKeyOf(entry, button) {
    const buttons = [...entry.host.querySelectorAll('button')];
    return { label: button.textContent, index: buttons.indexOf(button) };
  }

  function restoreFocus(entry, key) {
    const buttons = [...entry.host.querySelectorAll('button')];
    const target = buttons.find((b) => b.textContent === key.label && !b.disabled) || buttons.filter((b) => !b.disabled)[key.index] || entry.host;
    target.focus();
  }

  async function click(entry, action, button) {
    if (entry.busy) return;
    entry.busy = true;
    entry.host.setAttribute('aria-busy', 'true');
    if (button) button.classList.add('pending');
    try {
      const reply = await post('/console/api/action', { action, surface, taskId: entry.reply.taskId });
      if (reply.type === 'card') {
        entry.busy = false;
        entry.reply = reply;
        draw(entry);
        schedulePoll(entry);
      } else {
        // Feishu and WeCom leave the card as it was and say what went wrong; so do we.
        entry.busy = false;
        draw(entry);
        const note = addBot();
        note.reply = reply;
        draw(note);
      }
    } catch (err) {
      entry.busy = false;
      draw(entry);
      addError(`${L.failed}: ${err.message}`);
    }
  }

  /** A lazily loaded report fills in behind the first card: ask for the shown page again until it is complete. */
  function schedulePoll(entry) {
    clearTimeout(entry.timer);
    if (!entry.reply || entry.reply.type !== 'card' || !entry.reply.loading) return;
    entry.timer = setTimeout(async () => {
      if (entry.busy) return schedulePoll(entry);
      try {
        const reply = await post('/console/api/action', { action: entry.reply[surface].current, surface, taskId: entry.reply.taskId });
        if (reply.type === 'card' && !entry.busy) {
          entry.reply = reply;
          draw(entry);
          schedulePoll(entry);
        }
      } catch {
        // The next click or command shows the failure; polling just stops.
      }
    }, POLL_MS);
  }

  async function post(path, body) {
    const res = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(await errorOf(res));
    return res.json();
  }

  async function errorOf(res) {
    try {
      const j = await res.json();
      return `${res.status} ${str(j.error)}`;
    } catch {
      return String(res.status);
    }
  }

  async function send(text) {
    addUser(text);
    input.value = '';
    sendButton.disabled = true;
    const entry = addBot();
    try {
      const res = await fetch('/console/api/command', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ text }) });
      if (!res.ok) throw new Error(await errorOf(res));
      // NDJSON: "querying…" and progress first, then one card or message.
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let pending = '';
      for (;;) {
        const { value, done } = await reader.read();
        pending += decoder.decode(value || new Uint8Array(), { stream: !done });
        let nl;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          if (!line.trim()) continue;
          entry.reply = JSON.parse(line);
          draw(entry);
        }
        if (done) break;
      }
      if (entry.reply && entry.reply.type === 'card') {
        entry.li.dataset.reportId = entry.reply.reportId;
        schedulePoll(entry);
      }
    } catch (err) {
      entry.li.remove();
      entries.splice(entries.indexOf(entry), 1);
      addError(`${L.failed}: ${err.message}`);
    } finally {
      sendButton.disabled = false;
      entry.li.scrollIntoView({ block: 'nearest' });
    }
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (text) void send(text);
  });

  for (const radio of document.querySelectorAll('input[name="surface"]')) {
    radio.addEventListener('change', () => {
      if (!radio.checked) return;
      surface = radio.value;
      document.body.dataset.surface = surface;
      for (const entry of entries) draw(entry);
    });
  }
  document.body.dataset.surface = surface;

  const examples = document.getElementById('examples');
  for (const text of config.examples) {
    const li = el('li');
    const b = el('button', 'example', text);
    b.type = 'button';
    b.addEventListener('click', () => {
      input.value = text;
      void send(text);
    });
    li.append(b);
    examples.append(li);
  }
  document.body.dataset.ready = 'true';
})();
