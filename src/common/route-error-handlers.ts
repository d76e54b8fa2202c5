import type { FastifyError, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';

type RouteErrorHandler = NonNullable<RouteOptions['errorHandler']>;

/*
 * Fastify keeps one error handler per route, and two onRoute hooks of the service may give one to
 * the same route, in no set order: the webhook's renames its body limit's error, the module's
 * answers body refusals in a host (module-bodies.ts). So each keeps the one given before it, and
 * the order of their work does not depend on the order of the hooks: an error is renamed before it
 * is answered. What neither takes is thrown, to the server's error handler.
 */

/** Passes a route's errors, rewritten, to the handler given before (or to the server's). */
export function rewriteRouteErrors(route: RouteOptions, rewrite: (error: FastifyError) => Error): void {
  const earlier: RouteErrorHandler | undefined = route.errorHandler;
  route.errorHandler = function (error, request, reply) {
    const rewritten = rewrite(error) as FastifyError;
    if (earlier) return earlier.call(this, rewritten, request, reply);
    throw rewritten;
  };
}

/** Answers the errors `answer` takes (it returns true), after the handler given before had them rewritten. */
export function answerRouteErrors(route: RouteOptions, answer: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => boolean): void {
  const earlier: RouteErrorHandler | undefined = route.errorHandler;
  route.errorHandler = function (error, request, reply) {
    let left = error;
    if (earlier) {
      try {
        return earlier.call(this, error, request, reply);
      } catch (thrown) {
        left = thrown as FastifyError;
      }
    }
    if (!answer(left, request, reply)) throw left;
  };
}
