/**
 * Makes the test process's global `fetch` use Node's own HTTP client, whatever is imported next.
 *
 * Node 20's `fetch` and Wharf's undici (npm, v7) share one global dispatcher slot, and whichever
 * undici is loaded first fills it. When Wharf's copy comes first, Node's `fetch` hands its
 * requests to a dispatcher of another version, which refuses an explicit `content-length` header
 * ("invalid content-length header"), as registry clients send on PATCH. The first call of `fetch`
 * loads Node's copy synchronously, before this module's importer goes on; so this module is
 * imported before anything that loads undici. Wharf itself never uses the global `fetch`.
 */
void fetch('data:,').catch(() => undefined);
