// Single-key shortcuts for the call controls: m mutes, v turns the camera off and on, h raises the
// hand, c opens the chat. A key typed into a field is text, never a command, and a key with a
// modifier belongs to the browser (Ctrl+C copies). app.js decides what each action does.

export const shortcut_keys = { m: "toggle-mic", v: "toggle-camera", h: "raise-hand", c: "chat" };

// The action a keydown asks for, or null.
export function shortcutFor(event)
{
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat)
        return null;
    if (typingInto(event.target))
        return null;
    return shortcut_keys[String(event.key).toLowerCase()] ?? null;
}

// A select counts too: letters there jump to an option.
function typingInto(target)
{
    if (!target || typeof target !== "object")
        return false;
    const tag = String(target.tagName ?? "").toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable === true;
}
