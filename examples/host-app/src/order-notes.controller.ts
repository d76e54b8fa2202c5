import { Body, Controller, Param, Post } from '@nestjs/common';

/** A route of the application's own, with a body: read by the application's parsers, under its own limit and errors. */
@Controller('orders')
export class OrderNotesController {
  @Post(':orderId/notes')
  addNote(@Param('orderId') orderId: string, @Body() note: unknown): { orderId: string; note: unknown } {
    return { orderId, note };
  }
}
