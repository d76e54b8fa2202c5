/**
 * The service's TypeORM DataSource (it runs the migrations). Not the DataSource class itself,
 * which a host application's TypeORM module provides under that token.
 */
export const SERVICE_DATA_SOURCE = Symbol('whatsapp-notify-data-source');
