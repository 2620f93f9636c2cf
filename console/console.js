// The sts admin console: one small script, no framework, no build step. Every page is built
// with DOM calls (el() below), never from HTML strings: text is always a text node, so a name
// with markup shows as text. Every call goes to /console/api/, which carries the session in
// an HttpOnly cookie; state-changing calls send the CSRF token the session was given.
'use strict';

const main = () => document.getElementById('main');
let me = null; // {user, realm, csrf}
let status = null; // the status page's facts (base URL for endpoint links)

// ---- DOM -------------------------------------------------------------------------------

// el('tag', {attr: value, onclick: fn}, child...): children are nodes or text.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// A link only to http(s) URLs (never javascript: or data:).
function extLink(url, attrs) {
  const ok = /^https?:\/\//i.test(url);
  return el('a', Object.assign({href: ok ? url : null}, attrs || {}), url);
}

function page(name, ...children) {
  const m = main();
  m.replaceChildren(...children);
  m.dataset.page = name;
  m.dataset.state = 'loading';
}

function ready() {
  main().dataset.state = 'ready';
}

function flash(text, kind) {
  const f = document.getElementById('flash');
  f.replaceChildren(text ? el('p', {class: kind || 'ok'}, text) : '');
  f.dataset.kind = text ? kind || 'ok' : '';
  if (text) f.dataset.fresh = '1';
}

function errorText(r) {
  const d = r.data || {};
  return d.message ? `${d.message} (${r.status})` : `request failed (${r.status})`;
}

function table(id, headers, rows) {
  return el('table', {id},
    el('thead', {}, el('tr', {}, headers.map((h) => el('th', {}, h)))),
    el('tbody', {}, rows));
}

// ---- API -------------------------------------------------------------------------------

async function api(method, path, body, headers) {
  const h = Object.assign({Accept: 'application/json'}, headers || {});
  if (method !== 'GET' && me) h['X-CSRF-Token'] = me.csrf;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const r = await fetch('/console/api/' + path, {
    method,
    headers: h,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try {
    data = await r.json();
  } catch (e) {
    data = null;
  }
  if (r.status === 401 && path !== 'login' && path !== 'session') {
    me = null;
    showLogin('Your session has ended; sign in again.');
  }
  return {status: r.status, ok: r.ok, data};
}

// Realm path segments as the APIs write them: /a/b -> realms/root/realms/a/realms/b/
function realmPath(realm) {
  const parts = (realm || '/').split('/').filter((p) => p);
  return parts.length ? 'realms/root/' + parts.map((p) => 'realms/' + encodeURIComponent(p)).join('/') + '/' : '';
}

// ---- sign in / out -----------------------------------------------------------------------

function showLogin(message) {
  document.getElementById('nav').hidden = true;
  document.getElementById('whoami').replaceChildren();
  flash(message || '', message ? 'error' : '');
  const error = el('p', {id: 'login-error', class: 'error', role: 'alert'});
  const form = el('form', {id: 'login-form', class: 'card'},
    el('h2', {}, 'Sign in'),
    el('label', {}, 'User name', el('input', {id: 'login-user', name: 'username', autocomplete: 'username', required: true})),
    el('label', {}, 'Password', el('input', {id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true})),
    el('label', {}, 'Realm', el('input', {id: 'login-realm', name: 'realm', value: '/'})),
    el('button', {id: 'login-submit', type: 'submit'}, 'Sign in'),
    error);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await api('POST', 'login', {
      username: form.username.value,
      password: form.password.value,
      realm: form.realm.value,
    });
    if (r.ok) {
      me = r.data;
      signedIn();
    } else {
      error.textContent = r.status === 403
        ? 'Only administrators may use the console.'
        : 'Sign-in failed: ' + errorText(r);
    }
  });
  page('login', form);
  ready();
}

function signedIn() {
  document.getElementById('nav').hidden = false;
  document.getElementById('whoami').replaceChildren(
    el('span', {id: 'whoami-user'}, `${me.user} (realm ${me.realm})`), ' ',
    el('button', {id: 'signout', type: 'button', onclick: signOut}, 'Sign out'));
  flash('');
  if (!location.hash || location.hash === '#/') location.hash = '#/instances';
  else route();
}

async function signOut() {
  await api('POST', 'logout');
  me = null;
  location.hash = '';
  showLogin('Signed out.');
}

// ---- instances -------------------------------------------------------------------------

const KINDS = ['rest', 'soap'];

function instanceRealm(config) {
  const d = (config || {})['deployment-config'] || {};
  return d['deployment-realm'] || '/';
}

async function instancesPage() {
  page('instances', el('h2', {}, 'STS instances'));
  const m = main();
  m.append(el('p', {},
    el('a', {id: 'new-rest', href: '#/instance-new/rest'}, 'New REST instance'), ' · ',
    el('a', {id: 'new-soap', href: '#/instance-new/soap'}, 'New SOAP instance')));
  for (const kind of KINDS) {
    const r = await api('GET', `sts-publish/${kind}`);
    m.append(el('h3', {}, kind.toUpperCase()));
    if (!r.ok) {
      m.append(el('p', {class: 'error', id: `instances-${kind}-error`}, errorText(r)));
      continue;
    }
    const list = (r.data.result || []).slice().sort((a, b) =>
      instanceRealm(a[a._id]).localeCompare(instanceRealm(b[b._id])) || a._id.localeCompare(b._id));
    m.append(table(`instances-${kind}`, ['Realm', 'Instance', 'Transforms'], list.map((p) => {
      const c = p[p._id] || {};
      return el('tr', {dataset: {id: p._id}},
        el('td', {}, instanceRealm(c)),
        el('td', {}, el('a', {href: `#/instance/${kind}/${encodeURIComponent(p._id)}`}, p._id)),
        el('td', {}, transforms(c).join(', ')));
    })));
  }
  ready();
}

function transforms(c) {
  return (c['supported-token-transforms'] || []).map((t) => `${t.inputTokenType} → ${t.outputTokenType}`);
}

// An instance id in an API path: its realm and url element stay separate segments
// (`myRealm/x` is /sts-publish/rest/myRealm/x), each encoded.
function idPath(id) {
  return id.split('/').map(encodeURIComponent).join('/');
}

async function readInstance(kind, id) {
  return api('GET', `sts-publish/${kind}/${idPath(id)}`);
}

async function instancePage(kind, id) {
  page('instance', el('h2', {}, 'Instance ', el('span', {id: 'instance-name'}, id)));
  const r = await readInstance(kind, id);
  const m = main();
  if (!r.ok) {
    m.append(el('p', {class: 'error'}, errorText(r)));
    return ready();
  }
  const c = r.data[r.data._id] || {};
  const base = (status && status.base_url) || location.origin;
  const url = kind === 'rest' ? `${base}/rest-sts/${r.data._id}` : `${base}/sts/${r.data._id}`;
  m.append(el('dl', {id: 'instance-view'},
    el('dt', {}, 'Kind'), el('dd', {}, kind.toUpperCase()),
    el('dt', {}, 'Realm'), el('dd', {}, instanceRealm(c)),
    el('dt', {}, 'Revision'), el('dd', {id: 'instance-rev'}, r.data._rev),
    el('dt', {}, 'Endpoint'), el('dd', {}, extLink(url, {id: 'endpoint-url'})),
    kind === 'soap' ? [el('dt', {}, 'WSDL'), el('dd', {}, extLink(url + '?wsdl', {id: 'wsdl-link'}))] : null,
    el('dt', {}, 'Transforms'),
    el('dd', {}, el('ul', {id: 'transforms'}, transforms(c).map((t) => el('li', {}, t))))));
  m.append(el('details', {}, el('summary', {}, 'instance_state (secrets removed)'),
    el('pre', {id: 'instance-json'}, JSON.stringify(c, null, 2))));
  const confirmBox = el('div', {id: 'confirm-box', hidden: true},
    el('p', {}, `Delete the ${kind} instance ${r.data._id}? Clients using it will fail.`),
    el('button', {id: 'confirm-delete', type: 'button', class: 'danger', onclick: async () => {
      const d = await api('DELETE', `sts-publish/${kind}/${idPath(id)}`, undefined, {'If-Match': `"${r.data._rev}"`});
      if (d.ok) {
        flash(`Instance ${id} deleted.`);
        location.hash = '#/instances';
      } else flash(errorText(d), 'error');
    }}, 'Yes, delete'), ' ',
    el('button', {type: 'button', onclick: () => { confirmBox.hidden = true; }}, 'Cancel'));
  m.append(el('p', {},
    el('a', {id: 'edit-instance', href: `#/instance-edit/${kind}/${encodeURIComponent(id)}`}, 'Edit'), ' ',
    el('button', {id: 'delete-instance', type: 'button', class: 'danger', onclick: () => { confirmBox.hidden = false; }}, 'Delete…')),
  confirmBox);
  ready();
}

// The form's fields: [JSON path, label, kind]; kind 'list' is one value per line, 'json' a JSON value.
const FIELDS = [
  ['deployment-config.deployment-url-element', 'URL element', 'text'],
  ['deployment-config.deployment-realm', 'Realm', 'text'],
  ['supported-token-transforms', 'Transforms (one "INPUT -> OUTPUT" per line)', 'transforms'],
  ['persist-issued-tokens-in-cts', 'Persist issued tokens', 'bool'],
  ['saml2-config.issuer-name', 'SAML issuer', 'text'],
  ['saml2-config.saml2-sp-entity-id', 'SAML audience (SP entity ID)', 'text'],
  ['saml2-config.saml2-allowed-audiences', 'SAML allowed audiences (one per line)', 'list'],
  ['saml2-config.saml2-token-lifetime-seconds', 'SAML lifetime (seconds)', 'text'],
  ['saml2-config.saml2-signature-algorithm', 'SAML signature algorithm (URI)', 'text'],
  ['saml2-config.saml2-signature-key-alias', 'SAML signing key alias', 'text'],
  ['saml2-config.saml2-encrypt-assertion', 'Encrypt SAML assertions', 'bool'],
  ['saml2-config.saml2-encryption-key-alias', 'SAML encryption key alias (RP certificate)', 'text'],
  ['oidc-id-token-config.oidc-issuer', 'OIDC issuer', 'text'],
  ['oidc-id-token-config.oidc-audience', 'OIDC audience (one per line)', 'list'],
  ['oidc-id-token-config.oidc-signature-algorithm', 'OIDC signature algorithm', 'text'],
  ['oidc-trusted-issuers', 'Trusted OIDC issuers (JSON)', 'json'],
  ['saml2-trusted-issuers', 'Trusted SAML issuers (JSON, SOAP)', 'json'],
];

function getPath(obj, path) {
  return path.split('.').reduce((o, k) => (o && typeof o === 'object' ? o[k] : undefined), obj);
}

// Sets the value at a dotted path; undefined removes it, and any object it leaves empty.
function setPath(obj, path, value) {
  const keys = path.split('.');
  const chain = [obj];
  for (const k of keys.slice(0, -1)) {
    const o = chain[chain.length - 1];
    if (!o[k] || typeof o[k] !== 'object') {
      if (value === undefined) return;
      o[k] = {};
    }
    chain.push(o[k]);
  }
  const last = keys[keys.length - 1];
  if (value !== undefined) {
    chain[chain.length - 1][last] = value;
    return;
  }
  delete chain[chain.length - 1][last];
  for (let i = chain.length - 1; i > 0 && Object.keys(chain[i]).length === 0; i--) {
    delete chain[i - 1][keys[i - 1]];
  }
}

function fieldId(path) {
  return 'f-' + path.replace(/[^a-zA-Z0-9]+/g, '-');
}

function fieldValue(path, kind, v) {
  if (v === undefined || v === null) return kind === 'bool' ? false : '';
  if (kind === 'bool') return String(v) === 'true';
  if (kind === 'list') return (Array.isArray(v) ? v : [v]).join('\n');
  if (kind === 'json') return JSON.stringify(v, null, 2);
  if (kind === 'transforms') return v.map((t) => `${t.inputTokenType} -> ${t.outputTokenType}`).join('\n');
  return String(v);
}

// The form's value of a field, or undefined when empty (the key is then left out).
function formValue(input, kind, old) {
  // An unticked box leaves out a key that was not there (its section may not exist).
  if (kind === 'bool') return input.checked ? 'true' : old === undefined ? undefined : 'false';
  const s = input.value.trim();
  if (!s) return undefined;
  if (kind === 'list') return s.split('\n').map((x) => x.trim()).filter((x) => x);
  if (kind === 'json') return JSON.parse(s);
  if (kind === 'transforms') {
    const previous = Array.isArray(old) ? old : [];
    return s.split('\n').map((x) => x.trim()).filter((x) => x).map((line) => {
      const [i, o] = line.split(/\s*->\s*|\s*→\s*/);
      const same = previous.find((t) => t.inputTokenType === i && t.outputTokenType === o);
      return same || {inputTokenType: i, outputTokenType: o, invalidateInterimOpenAMSession: false};
    });
  }
  return s;
}

async function instanceForm(kind, id) {
  const editing = id !== undefined;
  page('instance-form', el('h2', {}, editing ? `Edit ${kind} instance ${id}` : `New ${kind.toUpperCase()} instance`));
  const m = main();
  // A new instance goes into the administrator's own realm (the only one a realm admin may use).
  const realm = (me && me.realm) || '/';
  let state = {'deployment-config': {'deployment-url-element': '', 'deployment-realm': realm}, 'supported-token-transforms': []};
  let rev = null;
  if (editing) {
    const r = await readInstance(kind, id);
    if (!r.ok) {
      m.append(el('p', {class: 'error'}, errorText(r)));
      return ready();
    }
    state = r.data[r.data._id] || {};
    rev = r.data._rev;
  }
  const formError = el('div', {id: 'form-error', class: 'error', role: 'alert'});
  const raw = el('textarea', {id: 'raw-json', rows: 16, spellcheck: 'false'}, JSON.stringify(state, null, 2));
  const form = el('form', {id: 'instance-form', class: 'card', dataset: {rev: rev || ''}});
  for (const [path, label, fkind] of FIELDS) {
    const value = fieldValue(path, fkind, getPath(state, path));
    let input;
    if (fkind === 'bool') input = el('input', {type: 'checkbox', id: fieldId(path), checked: value});
    else if (fkind === 'text') input = el('input', {id: fieldId(path), value});
    else input = el('textarea', {id: fieldId(path), rows: fkind === 'json' ? 4 : 3}, value);
    input.dataset.path = path;
    form.append(el('div', {class: 'field'}, el('label', {for: fieldId(path)}, label), input,
      el('span', {class: 'field-error', dataset: {for: path}})));
  }
  form.append(el('div', {class: 'field'},
    el('label', {for: 'raw-json'}, 'instance_state (raw JSON: everything the form does not cover; the form wins where both set a value)'),
    raw, el('span', {class: 'field-error', dataset: {for: ''}})));
  form.append(el('button', {id: 'save-instance', type: 'submit'}, editing ? 'Save' : 'Create'), formError);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    form.querySelectorAll('.field-error').forEach((e) => { e.textContent = ''; });
    formError.replaceChildren();
    let body;
    try {
      body = JSON.parse(raw.value);
    } catch (e) {
      formError.textContent = 'The raw JSON is not valid: ' + e.message;
      return;
    }
    for (const [path, , fkind] of FIELDS) {
      const input = document.getElementById(fieldId(path));
      try {
        setPath(body, path, formValue(input, fkind, getPath(body, path)));
      } catch (e) {
        form.querySelector(`.field-error[data-for="${path}"]`).textContent = 'not valid JSON: ' + e.message;
        return;
      }
    }
    const payload = {invocation_context: 'invocation_context_client_sdk', instance_state: body};
    const r = editing
      ? await api('PUT', `sts-publish/${kind}/${idPath(id)}`, payload, {'If-Match': `"${rev}"`})
      : await api('POST', `sts-publish/${kind}?_action=create`, payload);
    if (r.ok) {
      flash(editing ? `Instance ${r.data._id} saved.` : `Instance ${r.data._id} created.`);
      location.hash = `#/instance/${kind}/${encodeURIComponent(r.data._id)}`;
      return;
    }
    showApiErrors(form, formError, r);
  });
  m.append(form);
  ready();
}

// Puts each problem the API names next to the field of its JSON path; the rest below the form.
function showApiErrors(form, formError, r) {
  if (r.status === 412) {
    formError.replaceChildren(el('p', {id: 'stale'},
      'Stale edit: this instance was changed by someone else since you opened it. ',
      'Nothing was saved. Reload it to see the current version, then make your change again.'));
    return;
  }
  const msg = (r.data && r.data.message) || '';
  const problems = msg.startsWith('invalid instance_state: ')
    ? msg.slice('invalid instance_state: '.length).split('; ')
    : [];
  const rest = [];
  for (const p of problems) {
    const path = p.split(/[\s:`]/)[0].replace(/\[\d+\].*$/, '');
    let target = null;
    for (const [fpath] of FIELDS) {
      if (path === fpath || path.startsWith(fpath + '.')) target = fpath;
    }
    const span = target !== null && form.querySelector(`.field-error[data-for="${target}"]`);
    if (span) span.append(el('span', {class: 'problem'}, p));
    else rest.push(p);
  }
  if (!problems.length) rest.push(errorText(r));
  formError.replaceChildren(...rest.map((p) => el('p', {}, p)));
}

// ---- tokens ----------------------------------------------------------------------------

// A CREST filter value in double quotes.
function quoted(s) {
  return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

async function tokensPage() {
  page('tokens', el('h2', {}, 'Issued tokens'),
    el('p', {class: 'hint'}, 'Tokens that persisting instances issued (metadata only; the token itself is never shown).'));
  const form = el('form', {id: 'tokens-form', class: 'inline'},
    el('label', {}, 'Instance', el('input', {id: 'tok-instance', name: 'instance'})),
    el('label', {}, 'Principal', el('input', {id: 'tok-principal', name: 'principal'})),
    el('label', {}, 'Page size', el('input', {id: 'tok-size', name: 'size', value: '20', size: 4})),
    el('button', {id: 'tok-search', type: 'submit'}, 'Search'));
  const results = el('div', {id: 'token-results'});
  main().append(form, results);
  let cookies = [];
  const search = async (cookie) => {
    const parts = [];
    if (form.instance.value.trim()) parts.push(`/sts_id eq ${quoted(form.instance.value.trim())}`);
    if (form.principal.value.trim()) parts.push(`/principal_name eq ${quoted(form.principal.value.trim())}`);
    const q = new URLSearchParams({_queryFilter: parts.length ? parts.join(' and ') : 'true', _pageSize: form.size.value || '20'});
    if (cookie) q.set('_pagedResultsCookie', cookie);
    main().dataset.state = 'loading';
    const r = await api('GET', 'sts-tokengen?' + q.toString());
    if (!r.ok) {
      results.replaceChildren(el('p', {class: 'error'}, errorText(r)));
      return ready();
    }
    const rows = (r.data.result || []).map((t) => el('tr', {dataset: {id: t.token_id}},
      el('td', {class: 'mono'}, t.token_id), el('td', {}, t.sts_id), el('td', {}, t.principal_name),
      el('td', {}, t.token_type), el('td', {}, new Date(t.expiration_time * 1000).toISOString()),
      el('td', {}, el('button', {type: 'button', class: 'cancel-token danger', dataset: {id: t.token_id}, onclick: async () => {
        const d = await api('DELETE', 'sts-tokengen/' + encodeURIComponent(t.token_id));
        if (d.ok) {
          flash(`Token ${t.token_id} cancelled.`);
          search(cookies[cookies.length - 1]);
        } else flash(errorText(d), 'error');
      }}, 'Cancel token'))));
    const nav = el('p', {},
      cookies.length ? el('button', {id: 'prev-page', type: 'button', onclick: () => { cookies.pop(); search(cookies[cookies.length - 1]); }}, '← Previous') : null, ' ',
      r.data.pagedResultsCookie ? el('button', {id: 'next-page', type: 'button', onclick: () => { cookies.push(r.data.pagedResultsCookie); search(r.data.pagedResultsCookie); }}, 'Next →') : null);
    results.replaceChildren(
      el('p', {id: 'token-count'}, `${r.data.resultCount} token(s) on this page`),
      table('tokens-table', ['Token ID', 'Instance', 'Principal', 'Type', 'Expires', ''], rows), nav);
    ready();
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    cookies = [];
    search(undefined);
  });
  search(undefined);
}

// ---- OAuth clients -----------------------------------------------------------------------

async function clientsPage() {
  page('clients', el('h2', {}, 'OAuth clients (token introspection)'));
  const secretBox = el('div', {id: 'client-secret-box'});
  const form = el('form', {id: 'client-form', class: 'card inline'},
    el('label', {}, 'Realm', el('input', {id: 'client-realm', name: 'realm', value: me.realm})),
    el('label', {}, 'Client ID', el('input', {id: 'client-id', name: 'client_id', required: true})),
    el('label', {}, 'Authentication', el('select', {id: 'client-method', name: 'method'},
      ['client_secret_basic', 'client_secret_post', 'none'].map((x) => el('option', {value: x}, x)))),
    el('button', {id: 'client-add', type: 'submit'}, 'Add client'));
  const list = el('div', {id: 'client-list'});
  main().append(form, secretBox, list);
  const load = async () => {
    const r = await api('GET', 'sts-clients');
    if (!r.ok) {
      list.replaceChildren(el('p', {class: 'error'}, errorText(r)));
      return;
    }
    list.replaceChildren(table('clients-table', ['Realm', 'Client ID', 'Authentication', 'Created', ''],
      (r.data.result || []).map((c) => el('tr', {dataset: {id: c.client_id}},
        el('td', {}, c.realm), el('td', {}, c.client_id), el('td', {}, c.token_endpoint_auth_method),
        el('td', {}, new Date(c.created).toISOString()),
        el('td', {}, el('button', {type: 'button', class: 'delete-client danger', dataset: {id: c.client_id}, onclick: async () => {
          const d = await api('DELETE', `sts-clients/${realmPath(c.realm)}${encodeURIComponent(c.client_id)}`);
          flash(d.ok ? `Client ${c.client_id} deleted.` : errorText(d), d.ok ? 'ok' : 'error');
          secretBox.replaceChildren();
          load();
        }}, 'Delete'))))));
  };
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await api('POST', `sts-clients/${realmPath(form.realm.value)}?_action=create`,
      {client_id: form.client_id.value.trim(), token_endpoint_auth_method: form.method.value});
    if (!r.ok) {
      flash(errorText(r), 'error');
      return;
    }
    flash(`Client ${r.data.client_id} added.`);
    // Shown once: the server keeps only its hash, and this page forgets it on the next view.
    secretBox.replaceChildren(r.data.client_secret
      ? el('div', {class: 'card secret'}, el('p', {}, 'Client secret (shown only now; copy it):'),
        el('code', {id: 'client-secret'}, r.data.client_secret))
      : '');
    form.client_id.value = '';
    await load();
  });
  await load();
  ready();
}

// ---- keys ------------------------------------------------------------------------------

async function keysPage() {
  page('keys', el('h2', {}, 'Keys and certificates'));
  const list = el('div', {id: 'key-list'});
  const form = el('form', {id: 'import-form', class: 'card'},
    el('h3', {}, 'Import a relying party certificate'),
    el('label', {}, 'Alias', el('input', {id: 'import-alias', name: 'alias', required: true})),
    el('label', {}, 'Certificate (PEM)', el('textarea', {id: 'import-pem', name: 'pem', rows: 6, required: true})),
    el('button', {id: 'import-submit', type: 'submit'}, 'Import'));
  main().append(list, form);
  const load = async () => {
    const r = await api('GET', 'keys');
    if (!r.ok) {
      list.replaceChildren(el('p', {class: 'error'}, errorText(r)));
      return;
    }
    list.replaceChildren(table('keys-table', ['Alias', 'Kind', 'Role', 'SHA-256 fingerprint', 'Valid until', ''],
      (r.data.result || []).map((k) => el('tr', {dataset: {alias: k.alias}},
        el('td', {}, k.alias), el('td', {}, k.kind), el('td', {}, k.role),
        el('td', {class: 'mono fingerprint'}, k.fingerprint), el('td', {}, k.not_after || ''),
        el('td', {}, k.role === 'certificate' ? '' : el('button', {type: 'button', class: 'rotate-key', dataset: {alias: k.alias}, onclick: async () => {
          main().dataset.state = 'loading';
          const d = await api('POST', `keys/${encodeURIComponent(k.alias)}?_action=rotate`);
          flash(d.ok ? `Key ${k.alias} rotated; its previous certificate still validates.` : errorText(d), d.ok ? 'ok' : 'error');
          await load();
          ready();
        }}, 'Rotate'))))));
  };
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await api('POST', 'keys?_action=import', {alias: form.alias.value.trim(), certificate: form.pem.value});
    flash(r.ok ? `Certificate ${form.alias.value.trim()} imported.` : errorText(r), r.ok ? 'ok' : 'error');
    if (r.ok) form.reset();
    await load();
  });
  await load();
  ready();
}

// ---- users -----------------------------------------------------------------------------

async function usersPage() {
  page('users', el('h2', {}, 'Local users'));
  const realmForm = el('form', {id: 'users-realm-form', class: 'inline'},
    el('label', {}, 'Realm', el('input', {id: 'users-realm', name: 'realm', value: me.realm})),
    el('button', {id: 'users-load', type: 'submit'}, 'Show'));
  const list = el('div', {id: 'user-list'});
  const form = el('form', {id: 'user-form', class: 'card inline'},
    el('h3', {}, 'Add a user'),
    el('label', {}, 'User name', el('input', {id: 'user-name', name: 'username', required: true})),
    el('label', {}, 'Password', el('input', {id: 'user-password', name: 'password', type: 'password', autocomplete: 'new-password', required: true})),
    el('label', {}, el('input', {id: 'user-admin', name: 'admin', type: 'checkbox'}), ' administrator of the realm'),
    el('button', {id: 'user-add', type: 'submit'}, 'Add user'));
  main().append(realmForm, list, form);
  const base = () => `json/${realmPath(realmForm.realm.value)}users`;
  const load = async () => {
    main().dataset.state = 'loading';
    const r = await api('GET', base() + '?_queryFilter=true');
    if (!r.ok) {
      list.replaceChildren(el('p', {class: 'error', id: 'users-error'}, errorText(r)));
      return ready();
    }
    list.replaceChildren(table('users-table', ['User', 'Realm', 'Status', 'Administrator', ''],
      (r.data.result || []).map((u) => {
        const active = u.inetUserStatus === 'Active';
        const reset = el('form', {class: 'reset inline', hidden: true},
          el('input', {type: 'password', name: 'password', class: 'reset-password-input', autocomplete: 'new-password', required: true}),
          el('button', {type: 'submit', class: 'reset-password-save'}, 'Set password'));
        reset.addEventListener('submit', async (ev) => {
          ev.preventDefault();
          const d = await api('PUT', `${base()}/${encodeURIComponent(u.username)}`, {userpassword: reset.password.value});
          flash(d.ok ? `Password of ${u.username} reset.` : errorText(d), d.ok ? 'ok' : 'error');
          reset.hidden = true;
        });
        return el('tr', {dataset: {id: u.username}},
          el('td', {}, u.username), el('td', {}, u.realm), el('td', {class: 'user-status'}, u.inetUserStatus),
          el('td', {}, u.admin ? 'yes' : 'no'),
          el('td', {},
            el('button', {type: 'button', class: 'toggle-user', onclick: async () => {
              const d = await api('PUT', `${base()}/${encodeURIComponent(u.username)}`, {inetUserStatus: active ? 'Inactive' : 'Active'});
              flash(d.ok ? `${u.username} ${active ? 'disabled' : 'enabled'}.` : errorText(d), d.ok ? 'ok' : 'error');
              await load();
            }}, active ? 'Disable' : 'Enable'), ' ',
            el('button', {type: 'button', class: 'reset-password', onclick: () => { reset.hidden = false; }}, 'Reset password…'),
            reset));
      })));
    ready();
  };
  realmForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    load();
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await api('POST', base() + '?_action=create', {
      username: form.username.value.trim(), userpassword: form.password.value, admin: form.admin.checked,
    });
    flash(r.ok ? `User ${r.data.username} added.` : errorText(r), r.ok ? 'ok' : 'error');
    if (r.ok) form.reset();
    await load();
  });
  await load();
}

// ---- status ----------------------------------------------------------------------------

function duration(s) {
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return `${d}d ${h}h ${m}m ${s % 60}s`;
}

async function statusPage() {
  page('status', el('h2', {}, 'Status'));
  const r = await api('GET', 'status');
  if (!r.ok) {
    main().append(el('p', {class: 'error'}, errorText(r)));
    return ready();
  }
  status = r.data;
  const s = r.data;
  main().append(el('dl', {id: 'status'},
    el('dt', {}, 'Version'), el('dd', {id: 'status-version'}, s.version),
    el('dt', {}, 'Uptime'), el('dd', {id: 'status-uptime'}, duration(s.uptime_seconds)),
    el('dt', {}, 'Started'), el('dd', {}, s.started),
    el('dt', {}, 'Store'), el('dd', {id: 'status-store'}, s.store_backend),
    el('dt', {}, 'Instances loaded'), el('dd', {id: 'status-instances'}, `${s.instances.rest} REST, ${s.instances.soap} SOAP`),
    el('dt', {}, 'Public URL'), el('dd', {}, s.base_url)));
  main().append(el('h3', {}, 'Requests'), rateTable(s.rates),
    el('p', {}, el('button', {id: 'status-refresh', type: 'button', onclick: () => statusPage()}, 'Refresh')));
  ready();
}

// Requests per front end: totals since this node started (and their average rate), and the
// requests of the last minute or so (measured between two samples of the totals).
function rateTable(rates) {
  if (rates && rates.restricted) {
    return el('p', {id: 'status-rates', class: 'hint'}, 'Request rates count every realm: they are shown to administrators of the top-level realm.');
  }
  if (!rates || !rates.enabled) {
    return el('p', {id: 'status-rates', class: 'hint'}, 'Metrics disabled on this node (metrics = false): no request rates.');
  }
  const num = (v) => (v === null || v === undefined ? '–' : String(v));
  const w = rates.recent_window_seconds;
  return el('div', {id: 'status-rates'},
    table('rates-table', ['Front end', 'Succeeded', 'Failed', 'Total since start', 'Per second since start',
      `Last ${num(w)} s`, 'Per minute, recent'],
    rates.frontends.map((f) => el('tr', {dataset: {frontend: f.frontend}},
      el('td', {}, f.frontend), el('td', {}, num(f.success)), el('td', {}, num(f.failure)),
      el('td', {class: 'rate-total'}, num(f.total)), el('td', {}, num(f.per_second_since_start)),
      el('td', {class: 'rate-recent'}, num(f.recent)), el('td', {}, num(f.recent_per_minute))))),
    el('p', {class: 'hint'}, `In flight: ${num(rates.in_flight)}; shed: ${num(rates.shed)}. `,
      'Recent counts are measured between samples of the totals taken when this page is read ',
      '(the window is the newest sample at least a minute old, or the start).'));
}

// ---- routing ---------------------------------------------------------------------------

// An instance named in the page's address: a known kind and an id of segments as the server
// allows them (no `.` or `..`, which a browser would resolve into another API path), else null.
function instanceRef(kind, segments) {
  // Links encode the whole id (`myRealm%2Fx`), so a decoded part may hold several segments.
  const id = segments.join('/');
  const ok = KINDS.includes(kind) && id.split('/').every((p) => /^[A-Za-z0-9._~-]+$/.test(p) && p !== '.' && p !== '..');
  return ok ? id : null;
}

function notFound() {
  page('not-found', el('h2', {}, 'Not found'));
  main().append(el('p', {class: 'error'}, 'No such page.'));
  ready();
}

function route() {
  if (!me) return showLogin();
  let parts;
  try {
    parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  } catch (e) {
    return notFound();
  }
  document.querySelectorAll('#nav a').forEach((a) => {
    a.classList.toggle('current', a.dataset.page === parts[0]);
  });
  switch (parts[0]) {
    case 'instance': {
      const id = instanceRef(parts[1], parts.slice(2));
      return id === null ? notFound() : instancePage(parts[1], id);
    }
    case 'instance-new': return KINDS.includes(parts[1]) ? instanceForm(parts[1]) : notFound();
    case 'instance-edit': {
      const id = instanceRef(parts[1], parts.slice(2));
      return id === null ? notFound() : instanceForm(parts[1], id);
    }
    case 'tokens': return tokensPage();
    case 'clients': return clientsPage();
    case 'keys': return keysPage();
    case 'users': return usersPage();
    case 'status': return statusPage();
    default: return instancesPage();
  }
}

async function start() {
  window.addEventListener('hashchange', () => {
    flashOnce();
    route();
  });
  const r = await api('GET', 'session');
  if (r.ok) {
    me = r.data;
    const s = await api('GET', 'status');
    if (s.ok) status = s.data;
    signedIn();
  } else showLogin();
}

// A message survives the one page change it leads to (so "created" shows on the new page).
function flashOnce() {
  const f = document.getElementById('flash');
  if (f.dataset.fresh) delete f.dataset.fresh;
  else flash('');
}

document.addEventListener('DOMContentLoaded', start);
