// Reads a JSON list of iCalendar texts on stdin; prints, for each, its METHOD and every
// occurrence as ical.js (Thunderbird's parser) reads it: UID, start and end as UTC ISO.
// Recurring events are expanded with their RECURRENCE-ID overrides applied.
const ICAL = require("ical.js");
const fs = require("fs");

const texts = JSON.parse(fs.readFileSync(0, "utf8"));
const out = texts.map((text) => {
  ICAL.TimezoneService.reset();
  const calendar = new ICAL.Component(ICAL.parse(text));
  for (const tz of calendar.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.register(tz);
  }
  const vevents = calendar.getAllSubcomponents("vevent");
  const result = { method: calendar.getFirstPropertyValue("method"), events: [] };
  for (const master of vevents.filter((v) => !v.hasProperty("recurrence-id"))) {
    const event = new ICAL.Event(master);
    for (const v of vevents) {
      if (v !== master && v.hasProperty("recurrence-id") && v.getFirstPropertyValue("uid") === event.uid) {
        event.relateException(v);
      }
    }
    const push = (start, end, summary) => result.events.push({
      uid: event.uid, start: start.toJSDate().toISOString(), end: end.toJSDate().toISOString(), summary,
    });
    if (event.isRecurring()) {
      const it = event.iterator();
      let next;
      for (let n = 0; (next = it.next()) && n < 500; n++) {
        const details = event.getOccurrenceDetails(next);
        push(details.startDate, details.endDate, details.item.summary);
      }
    } else {
      push(event.startDate, event.endDate, event.summary);
    }
  }
  return result;
});
process.stdout.write(JSON.stringify(out));
