import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'constellation:public';

/** No credentials needed (health, metrics, TES service-info); read by the auth guard. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);
