// The customer's position, only when they ask to share it (W3C Geolocation): rounded to a tenth of a
// degree here already, so the exact place never leaves the browser. Refusal or a slow fix: none.
export async function approximateLocation(timeoutMs = 5000): Promise<{ lat: number; lon: number } | undefined> {
  if (!('geolocation' in navigator)) return undefined;
  return new Promise((resolve) => {
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lat: Math.round(p.coords.latitude * 10) / 10, lon: Math.round(p.coords.longitude * 10) / 10 }),
      () => resolve(undefined),
      { enableHighAccuracy: false, timeout: timeoutMs, maximumAge: 600_000 },
    );
  });
}
