/**
 * Answers requests Node's HTTP parser refuses before the API sees them (a garbled request line,
 * oversized headers, a bad chunk size, a request too slow to arrive) in the API's own error shape,
 * `{"error":{"code","message"}}`, instead of Node's bare status line: clients such as the C
 * reporter read the same error body whatever went wrong.
 * @module
 */
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";

interface ParserError extends Error {
  code?: string;
}

/** What to answer for a parser error code; undefined closes the connection without an answer. */
export function clientErrorAnswer(err: ParserError): { status: number; reason: string; message: string } | undefined {
  const code = err.code ?? "";
  if (code === "HPE_HEADER_OVERFLOW") {
    return { status: 431, reason: "Request Header Fields Too Large", message: "Cannot read the request: its headers are too large (at most 16 KiB)" };
  }
  if (code === "ERR_HTTP_REQUEST_TIMEOUT") {
    return { status: 408, reason: "Request Timeout", message: "Cannot read the request: it did not arrive in time" };
  }
  if (code.startsWith("HPE_")) {
    // The parser's message names the part ("Invalid method encountered"); it carries no request data.
    const what = err.message.replace(/^Parse Error: /, "").replace(/[^\x20-\x7e]/g, " ").slice(0, 200);
    return { status: 400, reason: "Bad Request", message: `Cannot read the request: it is not valid HTTP/1.1 (${what}, ${code})` };
  }
  return undefined;
}

/** The server's `clientError` listener. */
export function answerClientError(err: ParserError, socket: Duplex): void {
  const answer = clientErrorAnswer(err);
  // A response already under way cannot get a second status line (Node marks it on the socket).
  const current = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (answer === undefined || !socket.writable || current?.headersSent === true) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: { code: "bad_request", message: answer.message } });
  socket.end(
    `HTTP/1.1 ${answer.status} ${answer.reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
