// The page's words and how numbers and times are written: the strings come translated from the template
// (data attributes of #scanner-text), the formats from the page's language.
export const T = document.getElementById("scanner-text").dataset;

export function lang() { return document.documentElement.lang || "en"; }

export function fmt(s, vars) {
  return String(s || "").replace(/\{(\w+)\}/g, (m, k) => (vars && vars[k] !== undefined ? vars[k] : m));
}

// The page's language decides which numbers take the singular (French and Portuguese say "0 scan").
export function plural(n, one, many) {
  const form = window.Intl && Intl.PluralRules ? new Intl.PluralRules(lang()).select(n) : (n === 1 ? "one" : "other");
  return fmt(form === "one" ? one : many, { n });
}

export function timeIn(value, tz) {
  const d = new Date(value);
  if (isNaN(d)) return "";
  try {
    return new Intl.DateTimeFormat(lang(), { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: tz || undefined }).format(d);
  } catch (e) { return d.toTimeString().slice(0, 5); }
}

export const $ = (id) => document.getElementById(id);
