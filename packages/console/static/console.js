// The console page: plain DOM, no framework. Every value from the pipeline (event payloads above all) reaches the
// page through text nodes only (`el` below never parses HTML), so a payload like <script> is shown, never run.

const SVG = 'http://www.w3.org/2000/svg';
const page = document.getElementById('page');
const live = document.getElementById('live');
let config = { allowRedrive: false };
let history = [];
const selected = new Set();
/** The dead-letter counts the list on screen was drawn with: it is redrawn only when they change. */
let lettersShown = null;

/** A titled panel: `<div class="panel"><h3>title</h3>...children</div>`. */
function panel(title, attrs, ...children) {
  return el('div', { class: 'panel', ...attrs }, el('h3', {}, title), ...children);
}

/** Element with attributes and children; strings become text nodes. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    // Through the CSSOM: the page's Content-Security-Policy forbids style attributes.
    else if (name === 'style') node.style.cssText = value;
    else if (value !== undefined && value !== null && value !== false)
      node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat())
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  return node;
}

const fmt = (n, digits = 1) =>
  n === null || n === undefined || Number.isNaN(n)
    ? '–'
    : Number(n).toLocaleString('en-US', { maximumFractionDigits: digits });
/** A duration in the unit a person reads it in: 12 ms, 3.41 s, 5.2 min, 7.5 h, 336.7 d. */
const secondsText = (s) => {
  if (s === null || s === undefined) return '–';
  if (s < 1) return `${fmt(s * 1000, 0)} ms`;
  if (s < 120) return `${fmt(s, 2)} s`;
  if (s < 7_200) return `${fmt(s / 60, 1)} min`;
  return s < 172_800 ? `${fmt(s / 3_600, 1)} h` : `${fmt(s / 86_400, 1)} d`;
};
const msText = (ms) => (ms === null || ms === undefined ? '–' : secondsText(ms / 1000));
const timeText = (ms) =>
  ms
    ? new Date(ms)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : '–';
const valueText = (v) =>
  v === undefined
    ? '–'
    : v === null
      ? 'null'
      : Array.isArray(v)
        ? `[${v.join(', ')}]`
        : typeof v === 'number'
          ? fmt(v, 4)
          : String(v);
const badge = (text, kind = text) => el('span', { class: `badge ${kind}` }, text);
/** Each cell carries its column's name, so a `stack` table can show one record per block on a narrow screen. */
function table(head, rows, attrs = {}) {
  for (const row of rows) [...row.children].forEach((td, i) => head[i] && td.setAttribute('data-label', head[i]));
  return el(
    'div',
    { class: 'scroll' },
    el(
      'table',
      attrs,
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          head.map((h) => el('th', {}, h)),
        ),
      ),
      el('tbody', {}, rows),
    ),
  );
}
const card = (label, value, id) =>
  el(
    'div',
    { class: 'card' },
    el('div', { class: 'label' }, label),
    el('div', { class: 'value', 'data-testid': id }, value),
  );

async function api(path, init) {
  const response = await fetch(path, init);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ?? `HTTP ${response.status}`);
  return body;
}

function showError(error) {
  page.prepend(el('div', { class: 'error', role: 'alert' }, String(error.message ?? error)));
}

// ---- Pipeline -------------------------------------------------------------------------------------------------

/** A line chart of the history: one polyline per series, y from 0 to the largest value. */
function lineChart(series, unit) {
  const w = 600,
    h = 160,
    left = 44,
    bottom = 18;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'chart');
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  const values = series.flatMap((s) => s.points.map((p) => p.y)).filter((y) => y !== null);
  const max = Math.max(1e-9, ...values);
  const n = Math.max(2, ...series.map((s) => s.points.length));
  const axis = document.createElementNS(SVG, 'path');
  axis.setAttribute('class', 'axis');
  axis.setAttribute('d', `M${left},4 V${h - bottom} H${w}`);
  svg.append(axis);
  for (const [y, label] of [
    [4, unit(max)],
    [h - bottom, unit(0)],
  ]) {
    const text = document.createElementNS(SVG, 'text');
    text.setAttribute('x', '2');
    text.setAttribute('y', String(y + 8));
    text.textContent = label;
    svg.append(text);
  }
  for (const s of series) {
    const points = s.points
      .map((p, i) =>
        p.y === null ? null : `${left + ((w - left) * i) / (n - 1)},${h - bottom - ((h - bottom - 4) * p.y) / max}`,
      )
      .filter(Boolean);
    const line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('points', points.join(' '));
    line.setAttribute('fill', 'none');
    line.setAttribute('stroke', s.color);
    line.setAttribute('stroke-width', '2');
    line.setAttribute('vector-effect', 'non-scaling-stroke');
    svg.append(line);
  }
  const legend = el(
    'div',
    { class: 'legend' },
    series.map((s) => el('span', {}, el('span', { class: 'swatch', style: `background:${s.color}` }), s.name)),
  );
  return el('div', {}, svg, legend);
}

/** The newest non-null value: freshness is only measured in intervals that had events. */
const lastValue = (key) => history.findLast((s) => s[key] !== null && s[key] !== undefined)?.[key] ?? null;

/** A quantile in the histogram's open last bucket is only known to be at least its lower bound. */
const freshnessText = (s, cap) => (s !== null && cap !== null && s >= cap ? `≥ ${secondsText(cap)}` : secondsText(s));

function renderPipeline() {
  const latest = history.at(-1);
  page.replaceChildren(el('h2', {}, 'Pipeline'));
  if (!latest) return page.append(el('p', { class: 'muted' }, 'waiting for the first sample…'));
  if (latest.error) page.append(el('div', { class: 'error', role: 'alert' }, latest.error));
  if (latest.missingInputTopics.length)
    page.append(el('p', { class: 'muted' }, `input topics not created yet: ${latest.missingInputTopics.join(', ')}`));
  const totalLag = latest.groups.reduce((n, g) => n + g.totalLag, 0);
  const letters = Object.values(latest.deadLettersByReason).reduce((a, b) => a + b, 0);
  const produced = latest.topics
    .filter((t) => t.role === 'input')
    .flatMap((t) => t.partitions)
    .reduce((n, p) => n + p.high, 0);
  page.append(
    el(
      'div',
      { class: 'cards' },
      card('events in input topics', fmt(produced, 0), 'events-total'),
      card('produced / s', fmt(latest.producedPerSecond), 'produced-rate'),
      card('processed / s', fmt(latest.processedPerSecond), 'processed-rate'),
      card('consumer lag', fmt(totalLag, 0), 'lag-total'),
      card(
        'freshness p50 (last events)',
        freshnessText(lastValue('freshnessP50Seconds'), latest.freshnessCapSeconds),
        'freshness-p50',
      ),
      card(
        'freshness p99 (last events)',
        freshnessText(lastValue('freshnessP99Seconds'), latest.freshnessCapSeconds),
        'freshness-p99',
      ),
      card('dead letters', fmt(letters, 0), 'dead-letters-total'),
    ),
  );
  const p50 = lastValue('freshnessP50Seconds');
  if (p50 !== null && latest.freshnessCapSeconds !== null && p50 >= latest.freshnessCapSeconds)
    page.append(
      el(
        'p',
        { class: 'muted', 'data-testid': 'freshness-capped' },
        `Freshness beyond the processors' histogram (${secondsText(latest.freshnessCapSeconds)}): the events are ` +
          'that old when they reach Redis. A replay, a backfill or a test feed with past event times looks like ' +
          'this; live events mean the pipeline is far behind (see the lag).',
      ),
    );
  const points = (key) => history.map((s) => ({ y: s[key] ?? null }));
  page.append(
    el(
      'div',
      { class: 'grid2' },
      panel(
        'Freshness (event time → visible in Redis)',
        {},
        lineChart(
          [
            { name: 'p50', color: '#2457c5', points: points('freshnessP50Seconds') },
            { name: 'p99', color: '#d9822b', points: points('freshnessP99Seconds') },
          ],
          secondsText,
        ),
      ),
      panel(
        'Events per second',
        {},
        lineChart(
          [
            { name: 'produced', color: '#7a8799', points: points('producedPerSecond') },
            { name: 'processed', color: '#1d7a3a', points: points('processedPerSecond') },
          ],
          (v) => fmt(v),
        ),
      ),
    ),
  );
  page.append(el('h3', {}, 'Processor groups'));
  page.append(
    latest.groups.length === 0
      ? el('p', { class: 'muted' }, 'no consumer group is reading the input topics')
      : table(
          ['group', 'state', 'members and their partitions', 'lag per partition', 'total lag'],
          latest.groups.map((g) =>
            el(
              'tr',
              {},
              el('td', {}, g.group),
              el('td', {}, badge(g.state, g.state === 'Stable' ? 'ok' : 'warn')),
              el(
                'td',
                {},
                g.members.length === 0
                  ? el('span', { class: 'muted' }, 'no members')
                  : g.members.map((m) =>
                      el(
                        'div',
                        {},
                        // Members of one group share a client id; the end of the member id tells them apart.
                        `${m.clientId} …${m.memberId.slice(-6)} @ ${m.host}: `,
                        Object.entries(m.assignment)
                          .map(([t, ps]) => `${t} [${ps.join(', ')}]`)
                          .join('; ') || '(none)',
                      ),
                    ),
              ),
              el(
                'td',
                {},
                [...new Set(g.lag.map((l) => l.topic))].map((t) =>
                  el(
                    'div',
                    {},
                    `${t}: `,
                    g.lag
                      .filter((l) => l.topic === t)
                      .map((l) => `p${l.partition} ${fmt(l.lag, 0)}`)
                      .join(' · '),
                  ),
                ),
              ),
              el('td', { class: 'num' }, fmt(g.totalLag, 0)),
            ),
          ),
          { 'data-testid': 'groups' },
        ),
  );
  page.append(
    el(
      'div',
      { class: 'grid2' },
      el(
        'div',
        {},
        el('h3', {}, 'Topics'),
        table(
          ['topic', 'role', 'partitions (first..end offset)'],
          latest.topics.map((t) =>
            el(
              'tr',
              {},
              el('td', {}, t.topic),
              el('td', {}, t.role),
              el('td', {}, t.partitions.map((p) => `${p.partition}: ${p.low}..${p.high}`).join('  ·  ')),
            ),
          ),
        ),
      ),
      el(
        'div',
        {},
        el('h3', {}, 'Dead letters by reason'),
        Object.keys(latest.deadLettersByReason).length === 0
          ? el('p', { class: 'muted' }, 'none')
          : table(
              ['reason', 'letters'],
              Object.entries(latest.deadLettersByReason).map(([r, n]) =>
                el('tr', {}, el('td', {}, r), el('td', { class: 'num' }, fmt(n, 0))),
              ),
              { 'data-testid': 'dead-letter-reasons' },
            ),
        el('h3', {}, 'Processor metrics endpoints'),
        latest.processors.length === 0
          ? el('p', { class: 'muted' }, 'none configured (--metrics)')
          : table(
              ['endpoint', 'status'],
              latest.processors.map((p) =>
                el(
                  'tr',
                  {},
                  el('td', {}, p.url),
                  el('td', {}, p.up ? badge('up', 'ok') : badge(`down: ${p.error}`, 'bad')),
                ),
              ),
            ),
      ),
    ),
  );
}

// ---- Dead letters ---------------------------------------------------------------------------------------------

async function renderDeadLetters() {
  const reason = new URLSearchParams(location.hash.split('?')[1] ?? '').get('reason') ?? '';
  const { counts, letters } = await api(`/api/dead-letters?reason=${encodeURIComponent(reason)}`);
  lettersShown = JSON.stringify(counts);
  const filter = el(
    'select',
    {
      name: 'reason',
      onchange: (e) =>
        (location.hash = e.target.value
          ? `#dead-letters?reason=${encodeURIComponent(e.target.value)}`
          : '#dead-letters'),
    },
    el('option', { value: '' }, 'all reasons'),
    Object.entries(counts).map(([r, n]) => el('option', { value: r, selected: r === reason }, `${r} (${n})`)),
  );
  const outcomes = el('div', { 'data-testid': 'redrive-outcomes' });
  const redrive = el(
    'button',
    { disabled: !config.allowRedrive, 'data-testid': 'redrive', onclick: () => redriveSelected(outcomes) },
    'Re-drive selected',
  );
  page.replaceChildren(
    el('h2', {}, 'Dead letters'),
    el(
      'div',
      { class: 'toolbar' },
      el('label', {}, 'reason', filter),
      redrive,
      config.allowRedrive
        ? el(
            'span',
            { class: 'muted' },
            'edit a letter to re-drive a fixed record; each letter is re-driven at most once',
          )
        : el('span', { class: 'muted' }, 're-drive is off (start the console with --allow-redrive)'),
    ),
    outcomes,
  );
  if (letters.length === 0) return page.append(el('p', { class: 'muted' }, 'no dead letters'));
  page.append(
    table(['', 'time', 'reason', 'source', 'key', 'record (preview) and why'], letters.map(letterRow), {
      'data-testid': 'letters',
      class: 'stack',
    }),
  );
}

function letterRow(letter) {
  const editor = el('textarea', {
    'data-letter-edit': letter.id,
    hidden: true,
    'aria-label': `fixed record for ${letter.id}`,
  });
  editor.value = letter.preview;
  const check = el('input', {
    type: 'checkbox',
    'aria-label': `select ${letter.id}`,
    'data-letter': letter.id,
    checked: selected.has(letter.id),
    onchange: (e) => (e.target.checked ? selected.add(letter.id) : selected.delete(letter.id)),
  });
  // Only a record shown whole can be fixed here: an edit of a cut preview would lose the rest.
  const editable = config.allowRedrive && !letter.previewCut;
  const edit = el(
    'button',
    {
      type: 'button',
      disabled: !editable,
      title: letter.previewCut ? 'longer than its preview: fix it at the source' : undefined,
      'data-letter-edit-toggle': letter.id,
      onclick: () => {
        editor.hidden = !editor.hidden;
      },
    },
    'Edit',
  );
  const size =
    letter.previewCut || letter.bodyIncomplete
      ? el(
          'div',
          { class: 'muted' },
          `${fmt(letter.size, 0)} bytes, preview cut${letter.bodyIncomplete ? '; only the first bytes were kept' : ''}`,
        )
      : null;
  return el(
    'tr',
    { 'data-letter-row': letter.id },
    el('td', {}, check),
    el('td', {}, timeText(letter.time)),
    el('td', {}, badge(letter.reason, 'bad'), letter.redriven ? redrivenMark(letter.redriven) : null),
    el('td', {}, `${letter.sourceTopic} / ${letter.sourcePartition} / ${letter.sourceOffset}`),
    el('td', {}, letter.key ?? el('span', { class: 'muted' }, 'none')),
    el(
      'td',
      {},
      el('pre', { 'data-testid': 'letter-preview' }, letter.preview),
      size,
      el('div', { class: 'muted' }, letter.detail),
      edit,
      editor,
    ),
  );
}

/** Shown under a letter's reason once the ledger says it was re-driven: by this page, or any console, ever. */
const redrivenMark = ({ at, edited, to }) =>
  el(
    'div',
    { 'data-testid': 'letter-redriven' },
    badge('re-driven', 'redriven'),
    ` ${timeText(at)}${to ? ` → ${to}` : ''}${edited ? ', edited' : ''}`,
  );

/** Marks the rows of letters an outcome says were re-driven, without redrawing the list under the operator. */
function markRedriven(outcomes, edits) {
  for (const o of outcomes) {
    if (o.status === 'refused') continue;
    const row = document.querySelector(`tr[data-letter-row="${CSS.escape(o.id)}"]`);
    if (!row || row.querySelector('[data-testid="letter-redriven"]')) continue;
    const to = o.status === 'redriven' ? `${o.topic}[${o.partition}]@${o.offset}` : undefined;
    row.children[2].append(redrivenMark({ at: o.at, edited: o.status === 'redriven' && edits.has(o.id), to }));
  }
}

async function redriveSelected(outcomes) {
  const letters = [...selected].map((id) => {
    const editor = document.querySelector(`textarea[data-letter-edit="${CSS.escape(id)}"]`);
    return editor && !editor.hidden ? { id, value: editor.value } : { id };
  });
  if (letters.length === 0) return outcomes.replaceChildren(el('p', { class: 'muted' }, 'select letters first'));
  try {
    const result = await api('/api/redrive', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ letters }),
    });
    markRedriven(result.outcomes, new Set(letters.filter((l) => l.value !== undefined).map((l) => l.id)));
    outcomes.replaceChildren(
      table(
        ['letter', 'outcome', ''],
        result.outcomes.map((o) =>
          el(
            'tr',
            { 'data-outcome': o.id },
            el('td', {}, o.id),
            el('td', {}, badge(o.status)),
            el(
              'td',
              {},
              o.status === 'redriven'
                ? `to ${o.topic}[${o.partition}] @ ${o.offset}`
                : o.status === 'already-redriven'
                  ? `at ${timeText(o.at)}`
                  : o.reason,
            ),
          ),
        ),
      ),
    );
  } catch (error) {
    outcomes.replaceChildren(el('div', { class: 'error', role: 'alert' }, error.message));
  }
}

// ---- Entity ---------------------------------------------------------------------------------------------------

async function renderEntity() {
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const id = params.get('id') ?? '';
  const asOf = params.get('asOf') ?? '';
  const idInput = el('input', {
    name: 'id',
    value: id,
    placeholder: 'entity id, e.g. u42',
    required: true,
    'data-testid': 'entity-id',
  });
  const asOfInput = el('input', { name: 'asOf', type: 'datetime-local', step: '1', value: asOf });
  const form = el(
    'form',
    {
      class: 'inline',
      onsubmit: (e) => {
        e.preventDefault();
        const next = new URLSearchParams({ id: idInput.value });
        if (asOfInput.value) next.set('asOf', asOfInput.value);
        location.hash = `#entity?${next}`;
      },
    },
    el('label', {}, 'entity id', idInput),
    el('label', {}, 'offline as of (UTC, empty = now)', asOfInput),
    el('button', { type: 'submit' }, 'Look up'),
  );
  page.replaceChildren(el('h2', {}, 'Entity'), form);
  if (!id) return;
  const query = asOf ? `?asOf=${encodeURIComponent(`${asOf}Z`)}` : '';
  const view = await api(`/api/entity/${encodeURIComponent(id)}${query}`);
  page.append(
    el(
      'p',
      { 'data-testid': 'agreement' },
      'online vs offline: ',
      view.agree === null ? badge('nothing to compare') : view.agree ? badge('agree', 'ok') : badge('disagree', 'bad'),
      el('span', { class: 'muted' }, ` (offline as of ${timeText(view.asOf)})`),
    ),
  );
  for (const set of view.sets) {
    page.append(
      el(
        'h3',
        {},
        `${set.featureSet} `,
        badge(set.status),
        el(
          'span',
          { class: 'muted' },
          set.eventTime
            ? `  event time ${timeText(set.eventTime)}, freshness ${msText(set.freshnessMs)} ` +
                (set.staleAfter ? `(stale after ${set.staleAfter})` : '(the set has no maxAge: never stale)')
            : '',
        ),
      ),
    );
    if (set.offlineNote) page.append(el('p', { class: 'muted' }, set.offlineNote));
    page.append(
      table(
        ['feature', 'online', 'status', 'offline as of chosen time', 'offline at online event time', 'agree'],
        set.features.map((f) =>
          el(
            'tr',
            { 'data-feature': f.feature },
            el('td', {}, f.feature),
            el('td', { 'data-testid': `online-${f.feature}` }, valueText(f.online)),
            el('td', {}, badge(f.status)),
            el('td', {}, valueText(f.offlineAsOf)),
            el('td', {}, valueText(f.offlineAtOnlineTime)),
            el('td', {}, f.agree === null ? '–' : f.agree ? badge('yes', 'ok') : badge('no', 'bad')),
          ),
        ),
        { 'data-testid': `set-${set.featureSet}` },
      ),
    );
  }
  page.append(
    el('h3', {}, 'Served vectors'),
    view.served.length === 0
      ? el('p', { class: 'muted' }, 'none logged for this entity')
      : table(
          ['served at', 'request', 'score', 'values (before fallbacks)', 'fallbacks'],
          view.served.map((r) =>
            el(
              'tr',
              {},
              el('td', {}, timeText(r.servedAt)),
              el('td', {}, r.requestId),
              el('td', { class: 'num' }, fmt(r.score, 4)),
              el(
                'td',
                {},
                el(
                  'pre',
                  {},
                  Object.entries(r.values)
                    .map(([k, v]) => `${k} = ${valueText(v)} (${r.status[k] ?? '?'})`)
                    .join('\n'),
                ),
              ),
              el('td', {}, r.fallbacks.join(', ') || '–'),
            ),
          ),
          { 'data-testid': 'served' },
        ),
  );
}

// ---- Feature sets ---------------------------------------------------------------------------------------------

async function renderFeatureSets() {
  const sets = await api('/api/feature-sets');
  page.replaceChildren(el('h2', {}, 'Feature sets'));
  for (const s of sets) {
    page.append(
      panel(
        s.name,
        { 'data-testid': `feature-set-${s.name}` },
        el(
          'p',
          {},
          `entity `,
          el('b', {}, s.entity),
          ` · source `,
          el('b', {}, s.source.name),
          ` keyed by `,
          el('code', {}, s.entityKey),
          ` · topic `,
          el('code', {}, s.topic),
          ` · ${s.online.maxAge === null ? 'never stale' : `stale after ${s.online.maxAge}`}` +
            ` · expires after ${s.online.onlineExpiry} without writes`,
        ),
        table(
          ['feature', 'aggregation', 'field', 'window', 'type', 'default'],
          s.aggregates.map((a) =>
            el(
              'tr',
              {},
              el('td', {}, a.name),
              el('td', {}, a.aggregation),
              el('td', {}, a.field ?? '–'),
              el('td', {}, a.window),
              el('td', {}, a.valueType),
              el('td', {}, valueText(a.default)),
            ),
          ),
        ),
        s.requestFeatures.length ? el('p', {}, 'request-time features: ', s.requestFeatures.join(', ')) : null,
        s.transforms.length
          ? el('p', {}, 'transforms: ', s.transforms.map((t) => `${t.name}(${t.inputs.join(', ')})`).join(', '))
          : null,
        el(
          'p',
          { class: 'muted' },
          'source fields: ',
          Object.entries(s.source.fields)
            .map(([f, t]) => `${f}: ${t}`)
            .join(', '),
        ),
      ),
    );
  }
}

// ---- Scenario results -----------------------------------------------------------------------------------------

function barRows(rows, max) {
  return el(
    'div',
    { class: 'bars' },
    rows.flatMap(([label, value, alt]) => [
      el('span', {}, label),
      el(
        'span',
        { class: 'barcell' },
        el('span', {
          class: `bar${alt ? ' alt' : ''}`,
          style: `width:${Math.max(0.5, (85 * value) / Math.max(1e-9, max))}%`,
        }),
        fmt(value, 3),
      ),
    ]),
  );
}

async function renderScenario() {
  const read = await api('/api/scenario');
  page.replaceChildren(el('h2', {}, 'Scenario results'));
  if (!read.found)
    return page.append(el('p', { class: 'muted', 'data-testid': 'scenario-missing' }, `${read.reason} (${read.file})`));
  const r = read.results;
  const k = r.lookAhead.rows[0]?.served.k;
  page.append(
    el(
      'p',
      { class: 'muted' },
      `${r.scenario}, size ${r.size}, seed ${r.seed}, run at ${r.generatedAt} · `,
      Object.entries(r.counts)
        .map(([name, n]) => `${name} ${fmt(n, 0)}`)
        .join(', '),
    ),
  );
  page.append(
    el(
      'div',
      { class: 'grid2' },
      panel(
        'Look-ahead bias: AUC offline vs served',
        { 'data-testid': 'look-ahead' },
        barRows(
          r.lookAhead.rows.flatMap((row) => [
            [`${row.join} offline`, row.offline.auc],
            [`${row.join} served`, row.served.auc, true],
          ]),
          1,
        ),
        table(
          ['training join', 'offline AUC', `offline P@${k}`, 'served AUC', `served P@${k}`],
          r.lookAhead.rows.map((row) =>
            el(
              'tr',
              {},
              el('td', {}, row.join),
              el('td', { class: 'num' }, fmt(row.offline.auc, 3)),
              el('td', { class: 'num' }, fmt(row.offline.precisionAtK, 3)),
              el('td', { class: 'num' }, fmt(row.served.auc, 3)),
              el('td', { class: 'num' }, fmt(row.served.precisionAtK, 3)),
            ),
          ),
        ),
      ),
      panel(
        'Training-serving skew: mismatch rate per feature',
        { 'data-testid': 'skew' },
        barRows(
          r.skew.features.flatMap((f) => [
            [`${f.feature} shared`, f.shared.mismatchRate],
            [`${f.feature} reimpl.`, f.reimplemented.mismatchRate, true],
          ]),
          1,
        ),
        table(
          ['serving path', 'served AUC'],
          r.skew.served.map((s) =>
            el('tr', {}, el('td', {}, s.path), el('td', { class: 'num' }, fmt(s.metrics.auc, 3))),
          ),
        ),
      ),
    ),
  );
  page.append(
    panel(
      'Staleness: streaming vs batch online store',
      { 'data-testid': 'staleness' },
      table(
        ['online store filled by', 'lag mean (sim. min)', 'lag p95', "txns missing user's recent events", 'served AUC'],
        r.staleness.paths.map((p) =>
          el(
            'tr',
            {},
            el('td', {}, p.path),
            el('td', { class: 'num' }, fmt(p.meanMinutes)),
            el('td', { class: 'num' }, fmt(p.p95Minutes)),
            el('td', { class: 'num' }, `${fmt(100 * p.missedShare)} %`),
            el('td', { class: 'num' }, fmt(p.served.auc, 3)),
          ),
        ),
      ),
      el(
        'div',
        { class: 'grid2' },
        r.staleness.paths.map((p) =>
          el(
            'div',
            {},
            el('h3', {}, `lag distribution: ${p.path}`),
            barRows(
              p.lagHistogram.map((b) => [b.upToMinutes < 0 ? 'longer' : `≤ ${b.upToMinutes} min`, b.count]),
              Math.max(...p.lagHistogram.map((b) => b.count)),
            ),
          ),
        ),
      ),
      el(
        'p',
        { class: 'muted' },
        `processor produce → committed in Redis per segment (${r.staleness.processorCommitMs.segments}, wall ` +
          `clock): p50 ${fmt(r.staleness.processorCommitMs.p50, 0)} ms, p95 ` +
          `${fmt(r.staleness.processorCommitMs.p95, 0)} ms, max ${fmt(r.staleness.processorCommitMs.max, 0)} ms`,
      ),
    ),
  );
}

// ---- Routing and the live stream ------------------------------------------------------------------------------

const PAGES = {
  pipeline: renderPipeline,
  'dead-letters': renderDeadLetters,
  entity: renderEntity,
  'feature-sets': renderFeatureSets,
  scenario: renderScenario,
};
const current = () => location.hash.slice(1).split('?')[0] || 'pipeline';

async function render() {
  const name = PAGES[current()] ? current() : 'pipeline';
  for (const a of document.querySelectorAll('nav a'))
    a.classList.toggle('active', a.getAttribute('href') === `#${name}`);
  try {
    await PAGES[name]();
  } catch (error) {
    showError(error);
  }
}

function connect() {
  const events = new EventSource('/api/events');
  events.addEventListener('history', (e) => {
    history = JSON.parse(e.data);
    live.textContent = 'live';
    live.className = 'badge ok';
    if (current() === 'pipeline') renderPipeline();
  });
  events.addEventListener('sample', (e) => {
    const sample = JSON.parse(e.data);
    history.push(sample);
    if (history.length > 300) history.shift();
    live.textContent = `live · ${new Date(sample.at).toLocaleTimeString()}`;
    live.className = sample.error ? 'badge bad' : 'badge ok';
    if (current() === 'pipeline') renderPipeline();
    // A new letter refreshes the list, unless the operator is in the middle of editing one.
    const editing = document.activeElement?.tagName === 'TEXTAREA';
    if (current() === 'dead-letters' && !editing && JSON.stringify(sample.deadLettersByReason) !== lettersShown)
      void render();
  });
  events.onerror = () => {
    live.textContent = 'reconnecting…';
    live.className = 'badge warn';
  };
}

window.addEventListener('hashchange', () => void render());
config = await api('/api/config');
connect();
void render();
