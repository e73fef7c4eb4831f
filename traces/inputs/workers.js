// workers.js - the node trace's program: two worker_threads build,
// serialise and parse small objects (JSON round trips), as a service's
// request handlers do, and post a total back to the main thread.
// usage: node workers.js [ROUNDS]   (default 200000 per worker)
'use strict';
const { Worker, isMainThread, parentPort, workerData } =
  require('worker_threads');

function roundTrips(rounds) {
  let total = 0;
  for (let i = 0; i < rounds; i++) {
    const record = { id: i, name: 'item' + i, tags: ['t' + (i % 7),
      'g' + (i % 13)], score: Math.sqrt(i) };
    const text = JSON.stringify(record);
    total += JSON.parse(text).tags.length + text.length;
  }
  return total;
}

if (isMainThread) {
  const rounds = Number(process.argv[2] || 200000);
  let finished = 0, sum = 0;
  for (let w = 0; w < 2; w++) {
    const worker = new Worker(__filename, { workerData: rounds });
    worker.on('message', (part) => {
      sum += part;
      if (++finished === 2)
        console.log('total ' + sum);
    });
  }
} else {
  parentPort.postMessage(roundTrips(workerData));
}
