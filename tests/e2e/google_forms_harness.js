// Runs deploy/google-forms/anbefal.gs under Node.js with stand-ins for the Apps Script services
// it uses. UrlFetchApp really posts (through curl, as Apps Script's fetch is synchronous), so
// ingest receives exactly the bytes and headers the script produces.
//
// usage: node google_forms_harness.js SCRIPT.gs SUBMISSION.json
// env: ANBEFAL_URL, ANBEFAL_SECRET, FAIL_FIRST (fetches that throw before the real ones)
'use strict';
const fs = require('fs');
const vm = require('vm');
const crypto = require('crypto');
const { execFileSync } = require('child_process');

const [scriptPath, submissionPath] = process.argv.slice(2);
const submission = JSON.parse(fs.readFileSync(submissionPath, 'utf8'));
const properties = { ANBEFAL_URL: process.env.ANBEFAL_URL, ANBEFAL_SECRET: process.env.ANBEFAL_SECRET };
let failFirst = Number(process.env.FAIL_FIRST || '0');
const requests = [];
const logs = [];

// Apps Script byte arrays are Java bytes: signed, -128..127.
const toSigned = (buffer) => Array.from(buffer, (b) => (b > 127 ? b - 256 : b));
const toBuffer = (value) => (typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value.map((b) => b & 0xff)));

const Utilities = {
  getUuid: () => crypto.randomUUID(),
  base64Decode: (text) => toSigned(Buffer.from(text, 'base64')),
  base64Encode: (bytes) => toBuffer(bytes).toString('base64'),
  newBlob: (text) => ({ getBytes: () => toSigned(Buffer.from(text, 'utf8')) }),
  computeHmacSha256Signature: (value, key) =>
    toSigned(crypto.createHmac('sha256', toBuffer(key)).update(toBuffer(value)).digest()),
};

const PropertiesService = {
  getScriptProperties: () => ({
    getProperty: (k) => (k in properties ? properties[k] : null),
    setProperty: (k, v) => { properties[k] = String(v); },
    deleteProperty: (k) => { delete properties[k]; },
    getProperties: () => Object.assign({}, properties),
  }),
};

const UrlFetchApp = {
  fetch: (url, options) => {
    if (failFirst > 0) {
      failFirst -= 1;
      throw new Error('Address unavailable: ' + url);
    }
    const headers = Object.assign({ 'Content-Type': options.contentType }, options.headers);
    requests.push({ url, headers, payload: options.payload });
    const args = ['-s', '-o', '-', '-w', '\n%{http_code}', '-X', 'POST', url, '--data-binary', '@-'];
    Object.entries(headers).forEach(([k, v]) => args.push('-H', `${k}: ${v}`));
    const out = execFileSync('curl', args, { input: options.payload }).toString();
    const cut = out.lastIndexOf('\n');
    const code = Number(out.slice(cut + 1));
    const text = out.slice(0, cut);
    return { getResponseCode: () => code, getContentText: () => text };
  },
};

const itemResponses = submission.items.map((item) => ({
  getItem: () => ({ getTitle: () => item.title }),
  getResponse: () => item.response,
}));
const event = {
  response: {
    getId: () => submission.id,
    getTimestamp: () => new Date(submission.timestamp),
    getRespondentEmail: () => submission.email || '',
    getItemResponses: () => itemResponses,
  },
  source: { getId: () => submission.formId },
};

const context = {
  Utilities, PropertiesService, UrlFetchApp, JSON, Math, Date, Object, String, parseInt,
  console: { warn: (m) => logs.push(String(m)), log: (m) => logs.push(String(m)) },
};
vm.createContext(context);
vm.runInContext(fs.readFileSync(scriptPath, 'utf8'), context, { filename: scriptPath });
context.onFormSubmit(event);
const queuedAfterSubmit = Object.keys(properties).filter((k) => k.startsWith('anbefal.pending.')).length;
context.retryPending();
const queuedAfterRetry = Object.keys(properties).filter((k) => k.startsWith('anbefal.pending.')).length;
process.stdout.write(JSON.stringify({ requests, logs, queuedAfterSubmit, queuedAfterRetry }));
