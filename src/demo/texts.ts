/**
 * What the simulated customers write, in German and English, per request category and mood.
 * The first meaningful text of each category carries the keywords the category rules look for
 * (Rechnung/invoice, Paket/Lieferung/parcel, Rückerstattung/refund, Passwort/Konto/login,
 * Produkt/product); the mood shows in the wording (thanks and praise, or complaints), so that
 * sentiment analysis has something to find.
 */
export type Language = 'de' | 'en';
export type Mood = 'happy' | 'neutral' | 'angry';
export const CATEGORIES = ['delivery', 'billing', 'product', 'refund', 'account', 'other'] as const;
export type Category = (typeof CATEGORIES)[number];

type Texts = Record<Language, Record<Mood, readonly string[]>>;

export const OPENERS: Record<Category, Texts> = {
  delivery: {
    de: {
      happy: [
        'Hallo! Wann kommt mein Paket ungefähr an? Ich freue mich schon sehr 😊',
        'Guten Tag, kurze Frage zur Lieferung meiner Bestellung 4711 – super Shop übrigens!',
      ],
      neutral: [
        'Hallo, wo bleibt meine Bestellung? Die Sendungsverfolgung zeigt nichts an.',
        'Wann wird mein Paket zugestellt? Bestellnummer 58213.',
        'Die Lieferung sollte gestern kommen, ist aber noch nicht da.',
      ],
      angry: [
        'Wo bleibt mein Paket?! Seit zwei Wochen warte ich, das ist eine Frechheit.',
        'Die Lieferung ist schon wieder zu spät. Katastrophe, ich bin echt sauer!',
      ],
    },
    en: {
      happy: [
        'Hi! When will my parcel arrive? Really looking forward to it, thanks!',
        'Hello, quick question about the delivery of order 4711 – great shop by the way!',
      ],
      neutral: [
        'Hi, where is my order? Tracking shows nothing.',
        'When will my package be delivered? Order number 58213.',
        'The delivery was due yesterday but has not arrived.',
      ],
      angry: ['Where is my parcel?! Two weeks of waiting, this is terrible.', 'Delivery is late again. Awful service, I am really angry!'],
    },
  },
  billing: {
    de: {
      happy: ['Hallo, könnten Sie mir bitte die Rechnung noch einmal schicken? Danke!', 'Kurze Frage zur Zahlung, sonst alles prima 👍'],
      neutral: [
        'Ich habe eine Frage zu meiner Rechnung vom März.',
        'Die Zahlung per Lastschrift ist nicht durchgegangen, was nun?',
        'Können Sie mir eine Quittung für die Bestellung 3318 schicken?',
      ],
      angry: ['Sie haben mir den Betrag doppelt abgebucht! Unverschämt.', 'Die Rechnung ist falsch, eine Frechheit. Abzocke!'],
    },
    en: {
      happy: ['Hi, could you send me the invoice again please? Thank you!', 'Quick question about my payment, otherwise all great 👍'],
      neutral: [
        'I have a question about my invoice from March.',
        'The payment did not go through, what should I do?',
        'Can you send me a receipt for order 3318?',
      ],
      angry: ['You charged me twice! This is unacceptable.', 'The invoice is wrong and nobody answers. Terrible!'],
    },
  },
  product: {
    de: {
      happy: ['Hallo! Gibt es das Produkt auch in Blau? Finde es super 😍', 'Tolles Produkt! Ist die Größe M wieder verfügbar?'],
      neutral: [
        'Ist der Artikel 2231 noch lieferbar?',
        'Welche Größe empfehlen Sie für das Produkt?',
        'Gibt es eine Anleitung für das Gerät?',
      ],
      angry: [
        'Das Produkt ist nach zwei Tagen kaputt. Eine Katastrophe!',
        'Der Artikel ist defekt und funktioniert nicht. Sehr enttäuschend.',
      ],
    },
    en: {
      happy: ['Hi! Is this product available in blue? Love it 😍', 'Great product! Is size M back in stock?'],
      neutral: ['Is item 2231 still available?', 'Which size do you recommend for this product?', 'Is there a manual for the device?'],
      angry: ['The product broke after two days. Terrible quality!', 'The item is defective and does not work. Very disappointing.'],
    },
  },
  refund: {
    de: {
      happy: [
        'Hallo, ich möchte eine Rückerstattung für Bestellung 7781, danke für die Hilfe!',
        'Wie lange dauert die Rückerstattung ungefähr? Vielen Dank!',
      ],
      neutral: [
        'Ich habe die Ware zurückgeschickt. Wann bekomme ich die Rückerstattung?',
        'Ich möchte meine Bestellung stornieren und das Geld zurück.',
      ],
      angry: [
        'Seit drei Wochen warte ich auf meine Rückerstattung. Das ist Betrug!',
        'Ich will sofort mein Geld zurück, das ist unzumutbar!',
      ],
    },
    en: {
      happy: ['Hi, I would like a refund for order 7781, thanks for your help!', 'How long does a refund usually take? Thank you!'],
      neutral: ['I sent the goods back. When do I get my refund?', 'I would like to cancel my order and get a refund.'],
      angry: ['Three weeks waiting for my refund. This is a scam!', 'I want my money back now, this is ridiculous!'],
    },
  },
  account: {
    de: {
      happy: [
        'Hallo, ich habe mein Passwort vergessen – können Sie helfen? Danke!',
        'Wie ändere ich die E-Mail in meinem Kundenkonto? Danke schön!',
      ],
      neutral: [
        'Ich kann mich nicht mehr anmelden.',
        'Passwort zurücksetzen funktioniert nicht, die Mail kommt nicht an.',
        'Wie lösche ich mein Konto?',
      ],
      angry: ['Mein Konto ist gesperrt und niemand hilft mir. Ärgerlich!', 'Schon wieder kein Login möglich, ich bin wütend!'],
    },
    en: {
      happy: ['Hi, I forgot my password – could you help? Thanks!', 'How do I change the email on my account? Thank you!'],
      neutral: ['I cannot log in anymore.', 'Reset password does not work, the email never arrives.', 'How do I delete my account?'],
      angry: ['My account is locked and nobody helps. Terrible and frustrating!', 'Login broken again, this is annoying!'],
    },
  },
  other: {
    de: {
      happy: ['Hallo! Habt ihr am Samstag geöffnet? Danke 😊', 'Ein großes Lob an euer Team!'],
      neutral: ['Haben Sie eine Filiale in Köln?', 'Kann ich auch telefonisch bestellen?'],
      angry: ['Ich bin mit Ihrem Service sehr unzufrieden. Beschwerde!', 'Warum antwortet hier niemand? Eine Frechheit!'],
    },
    en: {
      happy: ['Hi! Are you open on Saturday? Thanks 😊', 'Big praise to your team!'],
      neutral: ['Do you have a store in Cologne?', 'Can I order by phone as well?'],
      angry: ['I am very unhappy with your service. Complaint!', 'Why does nobody ever answer here? Bad!'],
    },
  },
};

export const GREETINGS: Record<Language, readonly string[]> = {
  de: ['Hallo', 'Guten Tag', 'Hi', 'Moin'],
  en: ['Hi', 'Hello', 'Good morning', 'Hey'],
};

export const FOLLOW_UPS: Record<Language, Record<Mood, readonly string[]>> = {
  de: {
    happy: ['Alles klar, vielen Dank!', 'Super, danke für die schnelle Hilfe!'],
    neutral: ['Ok, danke.', 'Und wie lange dauert das?', 'Verstehe. Gibt es eine Nummer dazu?'],
    angry: ['Das hilft mir nicht weiter.', 'Hallo?? Ich warte immer noch auf eine Antwort!', 'Das ist doch nicht Ihr Ernst.'],
  },
  en: {
    happy: ['Great, thank you so much!', 'Perfect, thanks for the quick help!'],
    neutral: ['Ok, thanks.', 'And how long will that take?', 'I see. Is there a reference number?'],
    angry: ['That does not help me at all.', 'Hello?? Still waiting for an answer!', 'You cannot be serious.'],
  },
};

export const STILL_WAITING: Record<Language, readonly string[]> = {
  de: ['Hallo? Ist da jemand?', 'Ich warte seit einer Ewigkeit auf eine Antwort!'],
  en: ['Hello? Anyone there?', 'I have been waiting forever for an answer!'],
};

export const THANKS: Record<Language, readonly string[]> = {
  de: ['Danke, das hat geholfen!', 'Perfekt, danke!', 'Ok, danke 👍'],
  en: ['Thanks, that helped!', 'Perfect, thanks!', 'Ok, thank you 👍'],
};

export const REOPENERS: Record<Language, readonly string[]> = {
  de: ['Es ist leider immer noch nicht angekommen.', 'Das Problem ist doch nicht gelöst, es geht wieder nicht.'],
  en: ['Unfortunately it still has not arrived.', 'The problem is not solved after all, it fails again.'],
};

export const PHOTO_CAPTIONS: Record<Language, readonly string[]> = {
  de: ['Hier ein Foto', 'So sieht das Paket aus'],
  en: ['Here is a photo', 'This is what it looks like'],
};

/** What agents and the bot answer (only echoes carry text; API sends are seen through their statuses). */
export const AGENT_REPLIES: Record<Language, readonly string[]> = {
  de: [
    'Danke für Ihre Nachricht, ich schaue sofort nach.',
    'Ich habe das geprüft und veranlasst.',
    'Entschuldigen Sie die Verzögerung, ich kümmere mich darum.',
  ],
  en: [
    'Thanks for your message, let me check right away.',
    'I have checked this and taken care of it.',
    'Sorry for the delay, I am on it.',
  ],
};

export const NAMES: readonly string[] = [
  'Lena',
  'Jonas',
  'Emma',
  'Paul',
  'Mia',
  'Finn',
  'Hannah',
  'Luca',
  'Sophie',
  'Elias',
  'Marie',
  'Noah',
  'Lea',
  'Ben',
  'Olivia',
  'James',
  'Amelia',
  'Jack',
  'Isla',
  'Harry',
  'Ava',
  'George',
  'Grace',
  'Oscar',
  'Aylin',
  'Mehmet',
  'Zoë',
  'Jörg',
];

/** The 1–5 answer to a CSAT survey, the way customers type it when they do not tap a button. */
export function csatText(score: number, style: 'digit' | 'stars'): string {
  return style === 'digit' ? String(score) : '⭐'.repeat(score);
}
