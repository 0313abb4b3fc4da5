/**
 * Anbefal for Google Forms: posts each submitted answer to Anbefal's webhook, signed with
 * Standard Webhooks (HMAC-SHA256 over "id.timestamp.body"), in Anbefal's generic format.
 *
 * Set-up (see README.md beside this file):
 *   1. In the form: Extensions > Apps Script, paste this file, and fill in CONFIG.
 *   2. Project Settings > Script properties: ANBEFAL_URL (the webhook URL that
 *      `anbefal source add NAME --tool generic` printed) and ANBEFAL_SECRET (its whsec_ secret).
 *   3. Run `install` once and grant access: it adds the on-submit trigger and a retry trigger.
 *
 * Google Forms has no retries of its own: a failed post is queued in the script's properties and
 * retried every five minutes with a fresh signature (same webhook-id, so Anbefal dedupes it).
 */

var CONFIG = {
  // The title of the 0-10 linear-scale question. Never guessed: if it is missing, nothing is sent.
  scoreItemTitle: 'How likely are you to recommend us to a friend or colleague?',
  // The title of the open "why?" question, or '' for none.
  commentItemTitle: 'What is the main reason for your score?',
  // 'nps' for customers, 'enps' for employees (Anbefal then stores no name or email).
  kind: 'nps',
  // Segment name -> question title (a dropdown or short answer), e.g. department, store, team.
  segmentItems: { department: 'Department' },
};

var QUEUE_PREFIX = 'anbefal.pending.';

function install() {
  var form = FormApp.getActiveForm();
  ScriptApp.newTrigger('onFormSubmit').forForm(form).onFormSubmit().create();
  ScriptApp.newTrigger('retryPending').timeBased().everyMinutes(5).create();
}

/** The installable on-submit trigger. */
function onFormSubmit(e) {
  var body = buildAnswer(e.response, e.source);
  if (body === null) {
    console.warn('no score question "' + CONFIG.scoreItemTitle + '" answered; nothing sent');
    return;
  }
  var delivery = { id: 'msg_' + Utilities.getUuid().replace(/-/g, ''), body: JSON.stringify(body) };
  if (!deliver(delivery)) {
    PropertiesService.getScriptProperties().setProperty(QUEUE_PREFIX + delivery.id, JSON.stringify(delivery));
  }
}

/** The time-driven trigger: posts what failed before, each with a fresh timestamp. */
function retryPending() {
  var properties = PropertiesService.getScriptProperties();
  var all = properties.getProperties();
  Object.keys(all).forEach(function (key) {
    if (key.indexOf(QUEUE_PREFIX) !== 0) return;
    if (deliver(JSON.parse(all[key]))) properties.deleteProperty(key);
  });
}

function buildAnswer(response, form) {
  var answers = {};
  response.getItemResponses().forEach(function (itemResponse) {
    answers[itemResponse.getItem().getTitle()] = itemResponse.getResponse();
  });
  var score = answers[CONFIG.scoreItemTitle];
  if (score === undefined || score === null || score === '') return null;
  var segments = {};
  Object.keys(CONFIG.segmentItems).forEach(function (name) {
    var value = answers[CONFIG.segmentItems[name]];
    if (value) segments[name] = String(value);
  });
  var respondent = {};
  var email = response.getRespondentEmail();
  if (email) {
    respondent.id = email;
    respondent.email = email;
  }
  var answer = {
    response_id: response.getId(),
    kind: CONFIG.kind,
    // A scale item answers with a string ("9"); Anbefal wants the integer.
    score: parseInt(score, 10),
    answered_at: response.getTimestamp().toISOString(),
    survey_id: form.getId(),
    respondent: respondent,
    segments: segments,
  };
  var comment = CONFIG.commentItemTitle ? answers[CONFIG.commentItemTitle] : '';
  if (comment) answer.comment = String(comment);
  return answer;
}

/** Post one delivery; true when Anbefal has it (2xx), false when it should be retried. */
function deliver(delivery) {
  var properties = PropertiesService.getScriptProperties();
  var url = properties.getProperty('ANBEFAL_URL');
  var secret = properties.getProperty('ANBEFAL_SECRET');
  var timestamp = String(Math.floor(Date.now() / 1000));
  var key = Utilities.base64Decode(secret.replace(/^whsec_/, ''));
  var signed = Utilities.newBlob(delivery.id + '.' + timestamp + '.' + delivery.body).getBytes();
  var signature = Utilities.base64Encode(Utilities.computeHmacSha256Signature(signed, key));
  try {
    var result = UrlFetchApp.fetch(url, {
      method: 'post',
      contentType: 'application/json',
      payload: delivery.body,
      headers: {
        'webhook-id': delivery.id,
        'webhook-timestamp': timestamp,
        'webhook-signature': 'v1,' + signature,
      },
      muteHttpExceptions: true,
    });
    var code = result.getResponseCode();
    if (code >= 200 && code < 300) return true;
    console.warn('Anbefal answered ' + code + ': ' + result.getContentText());
    // 4xx other than 408/429 will not heal by retrying: Anbefal kept the body for its ops team.
    return code >= 400 && code < 500 && code !== 408 && code !== 429;
  } catch (err) {
    console.warn('posting to Anbefal failed: ' + err);
    return false;
  }
}
