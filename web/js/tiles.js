// The video grid: one tile per remote peer (a <video data-peer-id> with name, connection state
// and a stats line) next to the local tile, laid out so that all of them fit the stage. A tile
// whose member lost the server (suspended) says "reconnecting…" and has data-suspended="true".
// For a moderator every remote tile has a kick button (data-kick="<peerId>"). Each tile shows the
// member's presence (presence.js) as badges: raised hand, muted, camera off, sharing. Pure DOM:
// it is told what to show and never reaches into peers or media; a confirmed kick goes to onKick.

import { badge_kinds, presenceBadges } from "./presence.js";

const badge_icons = {
    "hand": "#icon-hand",
    "muted": "#icon-mic-off",
    "camera-off": "#icon-cam-off",
    "sharing": "#icon-screen",
};

const state_labels = {
    new: "waiting",
    connecting: "connecting",
    connected: "connected",
    disconnected: "interrupted",
    failed: "failed, retrying",
    closed: "closed",
};

// A removal cannot be taken back and bans the member for a while, so the kick button takes two
// clicks: the first arms it ("Remove?"), the second removes. A second click sooner than this
// after the first is a double click, not a decision, and is ignored.
const kick_confirm_delay_ms = 400;
// An armed button that is not confirmed this long (or loses focus, or hears Escape) disarms.
const kick_armed_ms = 5000;

// A stable colour per clientId, so a person keeps their colour across reloads of the others.
export function avatarColor(id)
{
    let hash = 0;
    for (const ch of id)
        hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
    return `hsl(${hash % 360} 55% 42%)`;
}

export function initial(label)
{
    return ([...label.trim()][0] ?? "?").toUpperCase();
}

export class Tiles
{
    #stage;
    #container;
    #onSoundBlocked;
    #onKick;
    #kickable = false;    // we are a moderator: every remote tile offers its kick button
    #tiles = new Map();   // peerId -> { figure, video, state, hasVideo, ... }

    constructor({ stage, container, onSoundBlocked, onKick })
    {
        this.#stage = stage;
        this.#container = container;
        this.#onSoundBlocked = onSoundBlocked;
        this.#onKick = onKick;
        this.#layout();
    }

    get size() { return this.#tiles.size; }

    add(peerId, label)
    {
        if (this.#tiles.has(peerId))
            return;
        const figure = document.createElement("figure");
        figure.className = "tile";
        // data-peer-id is on the <video> only (the test contract); the tile uses its own attribute.
        figure.dataset.tileFor = peerId;
        figure.dataset.state = "new";

        const video = document.createElement("video");
        video.dataset.peerId = peerId;
        video.autoplay = true;
        video.playsInline = true;
        video.setAttribute("aria-label", `Video from ${label}`);

        const placeholder = document.createElement("div");
        placeholder.className = "tile-placeholder";
        const avatar = document.createElement("span");
        avatar.className = "avatar";
        avatar.setAttribute("aria-hidden", "true");
        avatar.style.background = avatarColor(peerId);
        const placeholderText = document.createElement("span");
        placeholderText.className = "placeholder-text";
        placeholder.append(avatar, placeholderText);

        const caption = document.createElement("figcaption");
        caption.className = "tile-caption";
        const name = document.createElement("span");
        name.className = "tile-name";
        name.dataset.tileName = "";
        const badges = new Map(badge_kinds.map((kind) => [kind, makeBadge(kind)]));
        const state = document.createElement("span");
        state.className = "tile-state";
        const suspended = document.createElement("span");
        suspended.className = "tile-suspended";
        suspended.textContent = "reconnecting…";
        suspended.title = "Lost the signaling server; the call goes on while they reconnect";
        suspended.hidden = true;
        // Three bars, like a phone's signal: how the path to this member does (mesh-health.js).
        const quality = document.createElement("span");
        quality.className = "tile-quality";
        quality.dataset.quality = "unknown";
        quality.setAttribute("role", "img");
        quality.setAttribute("aria-label", "Connection quality: not measured yet");
        quality.title = "Connection quality: not measured yet";
        for (let i = 0; i < 3; i += 1)
            quality.append(document.createElement("i"));
        caption.append(name, quality, ...badges.values(), state, suspended);

        const stats = document.createElement("div");
        stats.className = "tile-stats";

        const kick = document.createElement("button");
        kick.type = "button";
        kick.className = "tile-kick";
        kick.dataset.kick = peerId;
        kick.hidden = !this.#kickable;
        kick.innerHTML = '<svg class="icon" aria-hidden="true"><use href="#icon-person-remove"/></svg>' +
            '<span class="tile-kick-confirm" aria-hidden="true">Remove?</span>';

        figure.append(video, placeholder, caption, stats, kick);
        this.#container.append(figure);

        const tile = {
            figure, video, avatar, name, badges, quality, state, suspended, stats, placeholderText, kick, label,
            armedAt: null, disarmTimer: null, hasVideo: false, connection: "new",
        };
        this.#tiles.set(peerId, tile);
        kick.addEventListener("click", () => this.#onKickClick(peerId, tile));
        kick.addEventListener("blur", () => this.#disarm(tile));
        kick.addEventListener("keydown", (event) => {
            if (event.key === "Escape")
                this.#disarm(tile);
        });
        video.addEventListener("resize", () => this.#refresh(tile));
        this.setLabel(peerId, label);
        this.#refresh(tile);
        this.#layout();
    }

    setLabel(peerId, label)
    {
        const tile = this.#tiles.get(peerId);
        if (!tile)
            return;
        tile.label = label;
        tile.name.textContent = label;
        tile.name.title = `clientId ${peerId}`;
        tile.avatar.textContent = initial(label);
        tile.video.setAttribute("aria-label", `Video from ${label}`);
        this.#labelKick(tile);
    }

    // The member's latest state (protocol.md 5.7): one badge per thing to show, the rest hidden.
    setPresence(peerId, state)
    {
        const tile = this.#tiles.get(peerId);
        if (!tile)
            return;
        const shown = presenceBadges(state);
        for (const [kind, badge] of tile.badges) {
            badge.hidden = shown[kind] === null;
            badge.title = shown[kind] ?? "";
            badge.lastChild.textContent = shown[kind] ?? "";
        }
        tile.figure.dataset.hand = shown.hand === null ? "false" : "true";
    }

    // Moderators see a kick button on every remote tile, present and future.
    setKickable(kickable)
    {
        this.#kickable = kickable;
        for (const tile of this.#tiles.values()) {
            tile.kick.hidden = !kickable;
            this.#disarm(tile);
        }
    }

    setStream(peerId, stream)
    {
        const tile = this.#tiles.get(peerId);
        if (!tile || tile.video.srcObject === stream)
            return;
        tile.video.srcObject = stream;
        playWithSoundFallback(tile.video, this.#onSoundBlocked);
    }

    setConnectionState(peerId, connection)
    {
        const tile = this.#tiles.get(peerId);
        if (!tile)
            return;
        tile.connection = connection;
        this.#refresh(tile);
    }

    // The member's socket to the server broke and it may come back: the tile stays.
    setSuspended(peerId, suspended)
    {
        const tile = this.#tiles.get(peerId);
        if (!tile)
            return;
        tile.suspended.hidden = !suspended;
        if (suspended)
            tile.figure.dataset.suspended = "true";
        else
            delete tile.figure.dataset.suspended;
    }

    setHasVideo(peerId, hasVideo)
    {
        const tile = this.#tiles.get(peerId);
        if (!tile)
            return;
        tile.hasVideo = hasVideo;
        this.#refresh(tile);
    }

    // { level: "unknown"|"good"|"fair"|"poor", text } from mesh-health.js.
    setQuality(peerId, { level, text })
    {
        const tile = this.#tiles.get(peerId);
        if (!tile)
            return;
        tile.figure.dataset.quality = level;
        tile.quality.dataset.quality = level;
        tile.quality.setAttribute("aria-label", text);
        tile.quality.title = text;
    }

    setStats(peerId, text)
    {
        const tile = this.#tiles.get(peerId);
        if (tile)
            tile.stats.textContent = text;
    }

    remove(peerId)
    {
        const tile = this.#tiles.get(peerId);
        if (!tile)
            return;
        tile.video.srcObject = null;
        clearTimeout(tile.disarmTimer);
        tile.figure.remove();
        this.#tiles.delete(peerId);
        this.#layout();
    }

    clear()
    {
        for (const peerId of [...this.#tiles.keys()])
            this.remove(peerId);
    }

    // Called from a click: a user gesture lets every video play with sound.
    enableSound()
    {
        for (const { video } of this.#tiles.values()) {
            if (video.dataset.soundBlocked) {
                video.muted = false;
                delete video.dataset.soundBlocked;
                video.play().catch(() => {});
            }
        }
    }

    #onKickClick(peerId, tile)
    {
        if (tile.armedAt === null) {
            tile.armedAt = Date.now();
            tile.kick.dataset.armed = "true";
            this.#labelKick(tile);
            tile.disarmTimer = setTimeout(() => this.#disarm(tile), kick_armed_ms);
            return;
        }
        if (Date.now() - tile.armedAt < kick_confirm_delay_ms)
            return;
        this.#disarm(tile);
        this.#onKick?.(peerId);
    }

    #disarm(tile)
    {
        if (tile.armedAt === null)
            return;
        tile.armedAt = null;
        clearTimeout(tile.disarmTimer);
        tile.disarmTimer = null;
        delete tile.kick.dataset.armed;
        this.#labelKick(tile);
    }

    // The name always starts "Remove <name> from the call", so it can be found by it in either
    // state; armed, it says what the next press does.
    #labelKick(tile)
    {
        const action = `Remove ${tile.label} from the call`;
        tile.kick.setAttribute("aria-label", tile.armedAt === null ? action : `${action}? Press again to confirm`);
        tile.kick.title = tile.armedAt === null ? action : "Press again to remove";
    }

    #refresh(tile)
    {
        const showing = tile.hasVideo && tile.video.videoWidth > 0;
        tile.figure.dataset.state = tile.connection;
        tile.figure.dataset.media = showing ? "on" : "off";
        tile.state.textContent = state_labels[tile.connection] ?? tile.connection;
        tile.placeholderText.textContent =
            tile.connection !== "connected" ? `${state_labels[tile.connection] ?? tile.connection}…` : "Camera is off";
    }

    // Columns for n tiles: as square a grid as possible. The CSS does the sizing from these.
    #layout()
    {
        // + the local tile, + the "nobody else is here" card while alone
        const count = this.#tiles.size + (this.#tiles.size === 0 ? 2 : 1);
        const columns = Math.ceil(Math.sqrt(count));
        const rows = Math.ceil(count / columns);
        this.#stage.style.setProperty("--tiles", count);
        this.#stage.style.setProperty("--columns", columns);
        this.#stage.style.setProperty("--rows", rows);
        this.#stage.dataset.alone = this.#tiles.size === 0 ? "true" : "false";
    }
}

// A badge is an icon with its words beside it for screen readers (its title for the mouse).
function makeBadge(kind)
{
    const badge = document.createElement("span");
    badge.className = "tile-badge";
    badge.dataset.badge = kind;
    badge.hidden = true;
    const icon = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    icon.setAttribute("class", "icon");
    icon.setAttribute("aria-hidden", "true");
    const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
    use.setAttribute("href", badge_icons[kind]);
    icon.append(use);
    const words = document.createElement("span");
    words.className = "visually-hidden";
    badge.append(icon, words);
    return badge;
}

// Browsers block autoplay with sound until the user has interacted with the page (?autostart=1
// has no click). Rather than show a frozen tile, play muted and offer an "Enable sound" button.
export function playWithSoundFallback(video, onSoundBlocked)
{
    video.play().catch((err) => {
        if (err.name !== "NotAllowedError")
            return;   // AbortError: a newer srcObject replaced this one; nothing to do
        video.muted = true;
        video.dataset.soundBlocked = "true";
        video.play().catch(() => {});
        onSoundBlocked?.();
    });
}
