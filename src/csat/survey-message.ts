/**
 * The CSAT survey as WhatsApp messages. Inside the 24-hour service window: an interactive list
 * with five rows (ids `csat_5` … `csat_1`; reply buttons allow only three). Outside it: the
 * approved UTILITY template CSAT_TEMPLATE_NAME, whose five quick-reply buttons (index 0–4) carry
 * the payloads `csat_5` … `csat_1`. `biz_opaque_callback_data` marks the send as the bot's.
 */
const TEXTS = {
  de: {
    body: 'Wie zufrieden waren Sie mit unserer Hilfe? Bitte bewerten Sie uns von 1 bis 5.',
    button: 'Bewerten',
    section: 'Ihre Bewertung',
    labels: ['Sehr zufrieden', 'Zufrieden', 'Geht so', 'Unzufrieden', 'Sehr unzufrieden'],
  },
  en: {
    body: 'How satisfied were you with our help? Please rate us from 1 to 5.',
    button: 'Rate',
    section: 'Your rating',
    labels: ['Very satisfied', 'Satisfied', 'Okay', 'Unsatisfied', 'Very unsatisfied'],
  },
} as const;

export const SURVEY_CALLBACK_DATA = 'bot:csat';

export function interactiveSurvey(to: string, language: 'de' | 'en') {
  const t = TEXTS[language];
  return {
    to: `+${to.replace(/^\+/, '')}`,
    type: 'interactive',
    biz_opaque_callback_data: SURVEY_CALLBACK_DATA,
    interactive: {
      type: 'list',
      body: { text: t.body },
      action: {
        button: t.button,
        sections: [
          {
            title: t.section,
            rows: [5, 4, 3, 2, 1].map((score, i) => ({
              id: `csat_${score}`,
              title: `${'⭐'.repeat(score)} ${score}`,
              description: t.labels[i],
            })),
          },
        ],
      },
    },
  };
}

export function templateSurvey(to: string, name: string, languageCode: string) {
  return {
    to: `+${to.replace(/^\+/, '')}`,
    type: 'template',
    biz_opaque_callback_data: SURVEY_CALLBACK_DATA,
    template: {
      name,
      language: { code: languageCode },
      components: [5, 4, 3, 2, 1].map((score, index) => ({
        type: 'button',
        sub_type: 'quick_reply',
        index: String(index),
        parameters: [{ type: 'payload', payload: `csat_${score}` }],
      })),
    },
  };
}
