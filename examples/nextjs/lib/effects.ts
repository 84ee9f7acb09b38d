// Client effects: fire-and-forget events a server-side widget action streams to the page
// (ChatKit's `chatkit.effect`, `onEffect` in useChatKit's options). Never stored: a reload
// does not replay them, so keep what the page needs from them (here: localStorage).
export type ClientEffect = { name: string; data?: Record<string, unknown> };
export type Units = "C" | "F";

const UNITS_KEY = "chatkit-example.weather-units";

// Client only (no localStorage in the server render): the unit last chosen on a weather card.
export function loadUnits(): Units | null {
  if (typeof window === "undefined") return null;
  const units = localStorage.getItem(UNITS_KEY);
  return units === "C" || units === "F" ? units : null;
}

// The weather card's "Show °F" / "Show °C" (`weather.units`): the server replaces the card
// and sends the unit chosen; the page remembers it and shows it in its header.
function weatherUnits(data: Record<string, unknown> | undefined, setUnits: (units: Units) => void) {
  const units = data?.units;
  if (units !== "C" && units !== "F") return;
  localStorage.setItem(UNITS_KEY, units);
  setUnits(units);
}

export function makeEffectHandler(setUnits: (units: Units) => void): (effect: ClientEffect) => void {
  return ({ name, data }) => {
    if (name === "weather.units") weatherUnits(data, setUnits);
    else console.info("unhandled client effect", name, data);
  };
}
