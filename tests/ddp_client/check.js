// Rocket.Chat's own DDP client against the fake server: connect, log in with a resume token, subscribe to
// stream-room-messages __my_messages__, print one JSON line when ready and one per message received, then exit.
// Usage: node check.js <server url> <token> [messages to wait for, default 1]
'use strict';

const { DDPSDK } = require('@rocket.chat/ddp-client');

async function main() {
  const [url, token, wanted = '1'] = process.argv.slice(2);
  // createAndConnect appends /websocket to the server URL itself.
  const sdk = await DDPSDK.createAndConnect(url);
  await sdk.account.loginWithToken(token);
  let remaining = Number(wanted);
  const subscription = sdk.stream('room-messages', '__my_messages__', (message, extra) => {
    console.log(JSON.stringify({ message, extra }));
    remaining -= 1;
    if (remaining === 0) {
      subscription.stop();
      sdk.connection.close();
      process.exit(0);
    }
  });
  await subscription.ready();
  console.log(JSON.stringify({ ready: true, userId: sdk.account.uid }));
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : JSON.stringify(error));
  process.exit(1);
});
