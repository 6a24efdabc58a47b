// A DNS server for the test's own names (RFC 1035, UDP, A records only), for machines of
// lib/machines.js. Chromium's WebRTC resolves STUN and TURN host names with DNS, not from
// /etc/hosts or --host-resolver-rules, so a test that names its TURN server as the README does
// (turn:call.example.org) needs a name server that knows the name.

import dgram from "node:dgram";

const type = { A: 1 };
const rcode = { noError: 0, formatError: 1, nameError: 3 };

// The question's name (lowercase, dotted), its type, and where the question ends; null when the
// query is not one plain question.
function readQuestion(query)
{
    if (query.length < 12 || query.readUInt16BE(4) !== 1)
        return null;
    const labels = [];
    let at = 12;
    while (at < query.length && query[at] !== 0) {
        const length = query[at];
        if (length > 63 || at + 1 + length > query.length)
            return null;            // compression pointers do not belong in a question
        labels.push(query.toString("latin1", at + 1, at + 1 + length));
        at += 1 + length;
    }
    if (at + 5 > query.length)
        return null;
    return { name: labels.join(".").toLowerCase(), type: query.readUInt16BE(at + 1), end: at + 5 };
}

function answer(query, question, records)
{
    const flagsOf = (code) => 0x8000 | (query.readUInt16BE(2) & 0x0100) | 0x0400 | 0x0080 | code; // QR, RD, AA, RA
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2);                                         // the query's id
    if (!question) {
        header.writeUInt16BE(flagsOf(rcode.formatError), 2);
        return header;
    }
    const address = records[question.name];
    header.writeUInt16BE(flagsOf(address ? rcode.noError : rcode.nameError), 2);
    header.writeUInt16BE(1, 4);                                          // one question
    const parts = [header, query.subarray(12, question.end)];
    if (address && question.type === type.A) {
        header.writeUInt16BE(1, 6);                                      // one answer
        const record = Buffer.alloc(16);
        record.writeUInt16BE(0xc00c, 0);                                 // the question's name
        record.writeUInt16BE(type.A, 2);
        record.writeUInt16BE(1, 4);                                      // class IN
        record.writeUInt32BE(60, 6);                                     // TTL, seconds
        record.writeUInt16BE(4, 10);
        address.split(".").forEach((byte, i) => record.writeUInt8(Number(byte), 12 + i));
        parts.push(record);
    }
    return Buffer.concat(parts);                                         // other types: no data
}

// Answers on address:53 (UDP) for records, name → IPv4 address; every other name does not exist.
// Returns { queries, stop() }; queries lists the names asked, in order.
export async function startDnsServer({ address, records })
{
    const socket = dgram.createSocket("udp4");
    const server = { queries: [] };
    socket.on("message", (query, from) => {
        const question = readQuestion(query);
        if (question)
            server.queries.push(question.name);
        socket.send(answer(query, question, records), from.port, from.address);
    });
    await new Promise((resolve, reject) => socket.once("error", reject).bind(53, address, resolve));
    server.stop = () => new Promise((resolve) => socket.close(resolve));
    return server;
}
