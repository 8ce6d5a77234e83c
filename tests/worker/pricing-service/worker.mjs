// A pricing service for the service-binding test: another Worker, reached by the gateway
// through a service binding. It prices `/priced/*` requests from their query (`units=N`
// costs N thousand atomic units, so the test can tell that its question arrived whole; no
// `units`: free).
export default {
  async fetch(request) {
    if (request.method !== 'POST') return new Response('POST only', { status: 405 });
    const ask = await request.json();
    const units = new URLSearchParams(ask.query ?? '').get('units');
    if (units === null) return Response.json({ free: true });
    return Response.json({ price: String(Number(units) * 1000) });
  },
};
