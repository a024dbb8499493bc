/** Jest globalTeardown: stops the fauxqs that global-setup.mjs started (same process, same globalThis). */
export default async function globalTeardown() {
  const app = globalThis.__SESAME_TEST_FAUXQS__;
  if (app) {
    delete globalThis.__SESAME_TEST_FAUXQS__;
    await app.close();
  }
}
