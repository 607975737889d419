/** Request analysis: categories and sentiment in German and English, CSAT answers, the analytics views. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config/config.ts';
import { compileCategoryRules, defaultCategoryRules, loadCategoryRules } from '../src/analysis/categories.ts';
import { csatScore } from '../src/csat/answer.ts';
import { analyzeSentiment, detectLanguage } from '../src/analysis/sentiment.ts';
import { ENGLISH_PHRASES, GERMAN_PHRASES } from '../src/analysis/lexicon.ts';
import { recordSettings } from '../src/storage/migrate.ts';
import type { App } from '../src/app.ts';
import { openTestApp, postWebhook, scrape, total } from './support/app.ts';
import type { TestDatabase } from './support/database.ts';
import { inbound, textMessage, unix, wamid } from './support/meta.ts';

describe('categories', () => {
  const rules = defaultCategoryRules();
  const cases: [string, string | null][] = [
    ['Ich habe eine Frage zu meiner Rechnung vom März', 'billing'],
    ['Warum wurde mir der Betrag doppelt abgebucht?', 'billing'],
    ['I was charged twice for my order', 'billing'],
    ['Wo bleibt mein Paket? Die Sendungsverfolgung zeigt nichts', 'delivery'],
    ['My parcel has not arrived yet', 'delivery'],
    ['Ich möchte mein Geld zurück, die Ware geht zurück', 'refund'],
    ['Can I get a refund for the broken headphones?', 'refund'],
    ['Ich habe mein Passwort vergessen und komme nicht ins Kundenkonto', 'account'],
    ['I cannot log in to my account', 'account'],
    ['Ist die Jacke in Größe M verfügbar?', 'product'],
    ['Does this charger work with the older model?', 'product'],
    ['Mein Paket ist verspätet', 'delivery'],
    ['Ich möchte die Jacke umtauschen', 'refund'],
    ['Wann wird mir das Geld zurückerstattet?', 'refund'],
    ['Der Betrag auf der Abrechnung stimmt nicht', 'billing'],
    ['Mein Konto ist gesperrt', 'account'],
    ['Passwort zurücksetzen funktioniert nicht', 'account'],
    ['Das Gerät funktioniert nicht mehr', 'product'],
    ['Can I return the shoes?', 'refund'],
    ['Hallo!', null],
    ['Good morning', null],
    ['Ups, falsche Nummer', null],
    ['Hi Bill, thanks', null],
    // The common phrasings (issue 10), compounds, spelled-out umlauts, typos and hints.
    ['Meine Bestellung ist noch nicht da', 'delivery'],
    ['Wann kommt meine Bestellung?', 'delivery'],
    ['Ich habe die Ware zurückgeschickt', 'refund'],
    ['Ich habe kein Geld zurückbekommen', 'refund'],
    ['Kann ich die Bestellung noch stornieren?', 'refund'],
    ['Gibt es Expressversand?', 'delivery'],
    ['Warum sind die Versandkosten so hoch?', 'billing'],
    ['wo finde ich meine rechnug', 'billing'],
    ['forgot my pasword', 'account'],
    ['Gibt es das in GROESSE M?', 'product'],
    ['The jacket is lovely', 'product'],
    ['What are your opening hours?', 'other'],
    ['Kann ich mit einem Mitarbeiter sprechen?', 'other'],
    ['Hallo', null],
    ['ok', null],
    ['danke', null],
    ['Vielen Dank für nichts', null],
    ['Is anyone there?', null],
    // Probes written blind by others: one word is one piece of evidence, common phrasings.
    ['Bis wann muss die Rücksendung bei euch sein? Das Paket kam am 3.', 'refund'],
    ['My parcel was sent back to you, I was home all day', 'delivery'],
    ['I sent the parcel back yesterday, when will I get my money?', 'refund'],
    ['Wo finde ich im Account meine Order History?', 'account'],
    ['Wann ist die Jacke wieder verfügbar?', 'product'],
    ['Funktioniert das auch mit dem iPad?', 'product'],
    ["The headphones won't connect to my laptop", 'product'],
    ['Meine Kreditkarte wurde abgelehnt', 'billing'],
    ['my card got declined, my bank says everything is fine', 'billing'],
    ['What are your customer service hours?', 'other'],
    ['I want a real human, this bot keeps sending me links', 'other'],
    ['Are you a bot?', null],
    ['Ist da jemand?', null],
    ['its already here, that was fast', 'delivery'],
    ['Leider ist keine Antwort auf meine Mail gekommen', null],
    ['leider', null],
    ['Vielen Dank, Sie waren mir eine große Hilfe!', null],
  ];
  for (const [text, category] of cases) {
    it(`"${text}" → ${category}`, () => assert.equal(rules.categorize(text), category));
  }
  it('takes a tapped menu button or list row id', () => {
    assert.equal(rules.categorize('Option 2', ['menu_delivery']), 'delivery');
    assert.equal(rules.categorize(null, ['billing']), 'billing');
  });
  it('reads the optional fields: endings, parts, hints, weight, typos', () => {
    const result = compileCategoryRules({
      version: 1,
      typos: false,
      categories: [
        { name: 'shipping', keywords: ['*versand', 'parcel'], hints: ['order'] },
        { name: 'vouchers', keywords: ['*gutschein*'], weight: 2 },
        { name: 'money', keywords: ['invoice*'], patterns: ['\\bgeld\\b'] },
      ],
    });
    assert.ok(result.ok);
    const { rules: custom } = result;
    assert.equal(custom.categorize('Expressversand?'), 'shipping');
    assert.equal(custom.categorize('Geschenkgutscheine'), 'vouchers');
    assert.equal(custom.categorize('my order'), 'shipping', 'a hint decides when nothing else matches');
    assert.equal(custom.categorize('order invoice'), 'money', 'a keyword beats a hint');
    assert.equal(custom.categorize('parcel with a Gutschein'), 'vouchers', 'weight 2 beats one keyword');
    assert.equal(custom.categorize('invoce'), null, 'typos: false');
    const cased = compileCategoryRules({
      version: 1,
      categories: [{ name: 'carrier', patterns: ['\\bDHL\\b', '\\bdpd\\b', '\\bGLS\\b|\\bUPS\\b'] }],
    });
    assert.ok(cased.ok);
    for (const text of ['dhl?', 'Mit DPD', 'ups'])
      assert.equal(cased.rules.categorize(text), 'carrier', `${text}: patterns match in any case`);
    assert.deepEqual(custom.explain('Parcel order, Geld'), [
      { category: 'shipping', rule: 'parcel', weight: 1 },
      { category: 'shipping', rule: 'order', weight: 0.5 },
      { category: 'money', rule: '/\\bgeld\\b/', weight: 1 },
    ]);
    assert.deepEqual(
      rules.explain('invoce').map((h) => h.rule),
      ['~invoice*'],
      'the default file matches one typo and marks it',
    );
    assert.deepEqual(compileCategoryRules({ version: 1, typos: 'yes', categories: [{ name: 'a', weight: 0, keywords: ['**'] }] }), {
      ok: false,
      errors: ['typos: expected true or false', 'categories[0].weight: expected a number above 0'],
    });
    assert.deepEqual(compileCategoryRules({ version: 1, categories: [{ name: 'a', keywords: ['**'] }] }), {
      ok: false,
      errors: ['categories[0].keywords[0]: expected at least one letter or digit'],
    });
  });
  it('keeps every label within the configured set', () => {
    assert.deepEqual(rules.labels, ['refund', 'billing', 'delivery', 'account', 'product', 'other', 'unknown']);
    assert.equal(rules.bounded('Billing'), 'billing');
    assert.equal(rules.bounded('shipping-question'), 'other');
  });
  it('names what is wrong in a broken rules file', () => {
    assert.deepEqual(compileCategoryRules({ version: 2, categories: [] }), {
      ok: false,
      errors: ['version: expected "version": 1', 'categories: expected at least one category'],
    });
    const bad = compileCategoryRules({
      version: 1,
      categories: [{ name: 'billing', patterns: ['(unclosed'] }, { name: 'billing' }, { name: 'unknown' }],
    });
    assert.ok(!bad.ok);
    assert.match(bad.errors[0]!, /^categories\[0\]\.patterns\[0\]: not a valid regular expression/);
    assert.ok(bad.errors.includes('categories[1].name: "billing" appears twice'));
    assert.ok(bad.errors.includes('categories[2].name: "unknown" is reserved for conversations not categorised yet'));
    assert.deepEqual(loadCategoryRules('/nonexistent.json'), { ok: false, errors: ['/nonexistent.json: no such file'] });
  });
  it('stops the start with a clear line for a broken CATEGORIES_FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-'));
    writeFileSync(join(dir, 'c.json'), '{"version": 1, "categories": [{"name": "Billing!"}]}');
    const result = loadConfig({
      WHATSAPP_APP_SECRET: 's',
      WHATSAPP_VERIFY_TOKEN: 'v',
      EVENTS_API_TOKEN: 'e',
      CATEGORIES_FILE: join(dir, 'c.json'),
    });
    assert.ok(!result.ok);
    assert.deepEqual(result.errors, [
      `CATEGORIES_FILE: ${join(dir, 'c.json')}: categories[0].name: expected a lower-case name (letters, digits, _; at most 32)`,
    ]);
  });
});

describe('sentiment in German and English', () => {
  const cases: [string, 'de' | 'en', 'negative' | 'neutral' | 'positive'][] = [
    ['Das ist nicht gut, ich warte schon seit einer Woche', 'de', 'negative'],
    ['Der Service ist wirklich toll, vielen Dank!', 'de', 'positive'],
    ['Ich bin überhaupt nicht zufrieden mit der Lieferung', 'de', 'negative'],
    ['Kein Problem, das passt so', 'de', 'positive'],
    ['Eine absolute Frechheit, das Paket ist kaputt angekommen', 'de', 'negative'],
    ['Wann öffnet ihr morgen?', 'de', 'neutral'],
    ['not bad at all, thanks', 'en', 'positive'],
    ['This is terrible, I want my money back', 'en', 'negative'],
    ['Great service, you are awesome', 'en', 'positive'],
    ['What are your opening hours?', 'en', 'neutral'],
    ['Could you send me the invoice please?', 'en', 'neutral'],
    ['Können Sie mir bitte die Rechnung schicken?', 'de', 'neutral'],
    ['Die Ware ist leider beschädigt angekommen', 'de', 'negative'],
    ['Nicht schlecht, hat gut geklappt', 'de', 'positive'],
    ['I am very disappointed, my order is still missing', 'en', 'negative'],
    ['Paket angekommen 😍👍', 'de', 'positive'],
    ['still waiting 😡', 'en', 'negative'],
    // Found in review: negation stops at the clause; emoji are never negated; one-word messages.
    ['Kein Problem, danke!', 'de', 'positive'],
    ['kein Problem 👍', 'de', 'positive'],
    ['Nie wieder, Katastrophe', 'de', 'negative'],
    ['Warum antwortet hier nie jemand? Schlecht!', 'de', 'negative'],
    ['Frechheit!', 'de', 'negative'],
    ['Vielen Dank!', 'de', 'positive'],
    ['Das Produkt ist nach zwei Tagen kaputt. Miese Qualität!', 'de', 'negative'],
    ['Schon wieder kein Login möglich, das nervt total!', 'de', 'negative'],
    ['My account is locked and nobody helps. So frustrating!', 'en', 'negative'],
    // Issue 10: the complaints that matter most, politeness, negation over a clause.
    ['Mein Paket ist immer noch nicht angekommen, das ist jetzt die dritte Woche!', 'de', 'negative'],
    ['Ich habe kein Geld zurückbekommen', 'de', 'negative'],
    ['Immer noch keine Antwort von euch', 'de', 'negative'],
    ['Nie wieder bestelle ich bei euch', 'de', 'negative'],
    ['Vielen Dank für nichts', 'de', 'negative'],
    ['I am not very happy with the service', 'en', 'negative'],
    ["I don't really like it", 'en', 'negative'],
    ["Is anyone there? I've been waiting for an hour.", 'en', 'negative'],
    ['Can you please help me?', 'en', 'neutral'],
    ['Das gefällt mir überhaupt nicht', 'de', 'negative'],
    ['Super, schon wieder abgelehnt. Ganz toll.', 'de', 'negative'],
    ['Die Lieferung war gut, aber das Produkt ist leider kaputt', 'de', 'negative'],
    ['Thanks in advance', 'en', 'neutral'],
    ['Guten Morgen', 'de', 'neutral'],
    ['Vielen lieben Dank, Sie haben mir sehr geholfen!', 'de', 'positive'],
    ['😡', 'en', 'negative'],
    ['👍', 'en', 'positive'],
    // Probes written blind by others: a problem report needs no emotional word.
    ['the zipper broke the first time I wore it', 'en', 'negative'],
    ['my card got declined 4 times', 'en', 'negative'],
    ['you refunded 29.99 but i paid 49.99', 'en', 'negative'],
    ['I was told it would be here Monday', 'en', 'negative'],
    ['Die Farbe sieht in echt ganz anders aus als auf den Fotos', 'de', 'negative'],
    ['Nach dem ersten Waschen ist das Shirt eingelaufen', 'de', 'negative'],
    ['Mein Paket ist seit 8 Tagen unterwegs und bewegt sich nicht mehr', 'de', 'negative'],
    ['Schon das dritte Mal, dass ich schreibe', 'de', 'negative'],
    ['The app crashes every time I open my basket', 'en', 'negative'],
    // Sarcasm: praise as an exclamation, or a friendly emoji, after a problem.
    ['Das Paket kam beschädigt an. Super.', 'de', 'negative'],
    ['great, another delay 👍', 'en', 'negative'],
    ['Toll, Account gelöscht ohne dass ich das wollte', 'de', 'negative'],
    ['Toll!', 'de', 'positive'],
    // Thanks are manners beside a request, a question or a problem; alone they are thanks.
    ['Guten Tag, wann wird Bestellung 4711 zugestellt? Vielen Dank.', 'de', 'neutral'],
    ['pls delete my account, thx', 'en', 'neutral'],
    ['Habt ihr noch Aushilfen-Stellen frei? 😊', 'de', 'neutral'],
    ['Paket nicht angekommen. Danke.', 'de', 'negative'],
    ['Handyhülle passt perfekt, super Qualität. Danke!', 'de', 'positive'],
    ['Danke für die Info!', 'de', 'positive'],
    ['Sehr geehrte Damen und Herren, hiermit widerrufe ich meinen Kauf. Mit freundlichen Grüßen', 'de', 'neutral'],
    // No complaint: the customer's own mistake, a wish, a recent "since", a question about use.
    ["Hi, I'd like to cancel my order, I picked the wrong colour", 'en', 'neutral'],
    ['Ich möchte keine Werbung mehr per E-Mail bekommen', 'de', 'neutral'],
    ['Die Rücksendung ist seit gestern unterwegs, wann kommt die Gutschrift?', 'de', 'neutral'],
    ['Does it keep working if the battery is low?', 'en', 'neutral'],
    ['Can I order 3 times the same shirt in different sizes?', 'en', 'neutral'],
    ['laptop fan is super loud. is this normal??', 'en', 'negative'],
    // A negation ends at 'und'/'and'; a negated participle in a statement is a report; a condition is not.
    ['Der Paketshop hat mein Paket verloren und keiner fühlt sich zuständig', 'de', 'negative'],
    ['Die Zahlung wurde nicht verbucht', 'de', 'negative'],
    ['Ich habe noch nicht bestellt. Gibt es Rabatt?', 'de', 'neutral'],
    ["If it isn't delivered by Friday, can I cancel?", 'en', 'neutral'],
    ['Hätte ich nicht gedacht, aber die Schuhe sind super', 'de', 'positive'],
    ['Die Beratung in eurer Filiale in Hamburg war spitze!', 'de', 'positive'],
  ];
  for (const [text, language, polarity] of cases) {
    it(`"${text}" → ${language}, ${polarity}`, () => {
      const result = analyzeSentiment(text);
      assert.equal(result.language, language);
      assert.equal(result.polarity, polarity, `score ${result.score}`);
    });
  }
  it('can match every phrase: no alternative ends with a space, which the word-end test after it would refuse', () => {
    for (const { pattern } of [...ENGLISH_PHRASES, ...GERMAN_PHRASES]) {
      let depth = 0;
      let start = 0;
      const alternatives: string[] = [];
      for (let i = 0; i < pattern.length; i += 1) {
        const c = pattern[i];
        if (c === '\\') i += 1;
        else if (c === '(') depth += 1;
        else if (c === ')') depth -= 1;
        else if (c === '|' && depth === 0) {
          alternatives.push(pattern.slice(start, i));
          start = i + 1;
        }
      }
      alternatives.push(pattern.slice(start));
      for (const alternative of alternatives) assert.ok(!alternative.endsWith(' '), `"${alternative}" ends with a space`);
    }
  });
  it('chooses the language per message', () => {
    assert.equal(detectLanguage('Hallo, wo ist meine Bestellung?'), 'de');
    assert.equal(detectLanguage('Hello, where is my order?'), 'en');
  });
});

describe('CSAT answers', () => {
  const cases: [string[], string | null, number | null][] = [
    [['csat_4'], '⭐⭐⭐⭐ 4', 4],
    [[], '5', 5],
    [[], '5 ⭐', 5],
    [[], '⭐⭐⭐⭐', 4],
    [[], 'fünf', 5],
    [[], 'Vier!', 4],
    [[], 'two', 2],
    [[], '3/5', 3],
    [[], 'Danke, das Paket ist angekommen', null],
    [[], '10', null],
  ];
  for (const [ids, text, score] of cases)
    it(`${JSON.stringify(ids)} "${text}" → ${score}`, () => assert.equal(csatScore(ids, text), score));
});

describe('stored analysis and the analytics views', () => {
  let db: TestDatabase;
  let app: App;
  before(async () => ({ db, app } = await openTestApp()));
  after(() => db.drop());

  it('stores category and sentiment with each message and counts inbound sentiment by category', async () => {
    const customer = '4915166600042';
    const post = (payload: unknown) => postWebhook(app, payload).expect(200);
    await post(
      inbound(customer, 'Kunde', [textMessage(customer, 'Meine Rechnung ist falsch, das ist ärgerlich', new Date('2026-11-23T08:15:00Z'))]),
    );
    await post(
      inbound(customer, 'Kunde', [
        {
          from: customer,
          id: wamid('list'),
          timestamp: unix(new Date('2026-11-23T08:16:00Z')),
          type: 'interactive',
          interactive: { type: 'list_reply', list_reply: { id: 'menu_billing', title: 'Rechnung' } },
        },
      ]),
    );
    const rows = (
      await db.database.query(`SELECT category, sentiment, language FROM messages WHERE contact_wa_id = $1 ORDER BY sent_at`, [customer])
    ).rows;
    assert.deepEqual(rows, [
      { category: 'billing', sentiment: 'negative', language: 'de' },
      { category: 'billing', sentiment: null, language: null },
    ]);
    const conversation = (await db.database.query(`SELECT category, sentiment FROM conversations WHERE contact_wa_id = $1`, [customer]))
      .rows[0];
    assert.deepEqual(conversation, { category: 'billing', sentiment: 'negative' });
    const m = await scrape(app);
    assert.equal(total(m, 'whatsapp_inbound_sentiment_total', { polarity: 'negative', category: 'billing' }), 1);
    assert.equal(total(m, 'whatsapp_conversations_opened_total', { category: 'billing' }), 1);
  });

  it('serves the weekday × hour heatmap in the business time zone to the read-only role, without personal data', async () => {
    await recordSettings(db.database, { timezone: 'Europe/Berlin' });
    // A follow-up that matches no rule counts under its conversation's category.
    await postWebhook(
      app,
      inbound('4915166600042', 'Kunde', [textMessage('4915166600042', 'Hallo nochmal', new Date('2026-11-23T08:20:00Z'))]),
    ).expect(200);
    const rows = await db.database.withConnection(async (c) => {
      await c.query('SET ROLE whatsapp_readonly');
      try {
        const heat = await c.query(
          `SELECT weekday, hour, category, sum(messages)::int AS n FROM analytics.messages_by_hour WHERE day = '2026-11-23' GROUP BY 1, 2, 3`,
        );
        const conversations = await c.query(`SELECT * FROM analytics.conversations LIMIT 1`);
        await assert.rejects(c.query('SELECT text_body FROM messages LIMIT 1'), /permission denied/);
        return { heat: heat.rows, columns: conversations.fields.map((f) => f.name) };
      } finally {
        await c.query('RESET ROLE');
      }
    });
    assert.deepEqual(rows.heat, [{ weekday: 1, hour: 9, category: 'billing', n: 3 }], 'Monday 08:15Z is 09:15 in Berlin');
    for (const personal of ['contact_wa_id', 'text_body', 'profile_name', 'payload']) assert.ok(!rows.columns.includes(personal), personal);
  });
});
