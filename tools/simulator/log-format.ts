/**
 * One-line descriptions of what the simulator receives and sends. Secrets never appear whole: API keys show at
 * most their last 4 characters, and callback URLs hide query values and long path segments with digits in them
 * (the service's callback URLs carry the app's key in the path).
 */

export function maskApiKey(apiKey: string | undefined): string {
  if (!apiKey) return '(none)';
  return apiKey.length >= 8 ? `****${apiKey.slice(-4)}` : '****';
}

export function maskUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(invalid url)';
  }
  const path = parsed.pathname
    .split('/')
    .map((segment) => (looksLikeSecret(segment) ? maskApiKey(decodeSafely(segment)) : segment))
    .join('/');
  const query = [...parsed.searchParams.keys()].map((key) => `${key}=****`).join('&');
  return `${parsed.origin}${path}${query ? `?${query}` : ''}`;
}

function decodeSafely(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function looksLikeSecret(segment: string): boolean {
  return segment.length >= 16 && /\d/.test(segment);
}
