// The status page's settings, from its URL. Pure, so Node tests read them as the page does.
//
//   ?every=N   poll /metrics every N seconds (1-60; default 5). The browser test and the
//              screenshot use 1, to see a change within seconds; an operator rarely needs to.

export const default_poll_seconds = 5;

export function readStatusSettings(url)
{
    const every = url.searchParams.get("every");
    const seconds = every !== null && /^\d+$/.test(every) ? Number(every) : default_poll_seconds;
    return { everyMs: (seconds >= 1 && seconds <= 60 ? seconds : default_poll_seconds) * 1000 };
}
