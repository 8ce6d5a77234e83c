// The Hono app of tests/e2e/js-middleware.test.js, priced by the npm package's middleware on
// Node and in workerd alike: its routes in the official SDK's shape, and its handlers.

/** A fixed price in the local token (`{ amount, asset }`), and a price function. */
export const routes = ({ network, payTo, token }) => ({
  'GET /weather': {
    accepts: [{ scheme: 'exact', network, payTo, price: { amount: '1000', asset: token } }],
    description: 'weather',
  },
  'GET /reports/[id]': {
    accepts: { network, payTo, asset: token, price: ({ query }) => (query === 'detail=full' ? '$0.01' : '$0.002') },
    description: 'a report',
  },
});

/** The app's own handlers, after the middleware. */
export function priced(hono) {
  hono.get('/', (c) => c.text('free front page'));
  hono.get('/weather', (c) => c.json({ forecast: 'sunny' }));
  hono.get('/reports/:id', (c) => c.json({ report: c.req.param('id'), detail: c.req.query('detail') ?? 'summary' }));
  return hono;
}
