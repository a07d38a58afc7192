import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBasicAuth,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { Roles } from '@constellation/auth';
import {
  DataStoreDocumentDto,
  DataStorePageDto,
  DataStoreUpdateDto,
  DataStoreViewDto,
} from './dto/data-store.dto';
import { DataStoreView } from './data-store.mapper';
import { DataStoreService } from './data-store.service';

@ApiTags('data-stores')
@ApiBearerAuth()
@ApiBasicAuth()
@Controller('api/v1/data-stores')
export class DataStoresController {
  constructor(private readonly stores: DataStoreService) {}

  @Post()
  @Roles('admin')
  @ApiOperation({ summary: 'Register a data store (admin)' })
  @ApiCreatedResponse({ type: DataStoreViewDto })
  create(@Body() body: DataStoreDocumentDto): Promise<DataStoreView> {
    return this.stores.create(body);
  }

  @Get()
  @ApiOperation({ summary: 'List data stores' })
  @ApiQuery({ name: 'country', required: false })
  @ApiQuery({ name: 'page_size', required: false, type: 'integer' })
  @ApiQuery({ name: 'page_token', required: false })
  @ApiOkResponse({ type: DataStorePageDto })
  async list(
    @Query() query: Record<string, unknown>,
  ): Promise<{ data_stores: DataStoreView[]; next_page_token: string | null }> {
    const page = await this.stores.list(query);
    return { data_stores: page.items, next_page_token: page.nextPageToken };
  }

  @Get(':id')
  @ApiOkResponse({ type: DataStoreViewDto })
  get(@Param('id') id: string): Promise<DataStoreView> {
    return this.stores.get(id);
  }

  @Patch(':id')
  @Roles('admin')
  @ApiOperation({ summary: 'Change a data store (admin); absent fields keep their value' })
  @ApiOkResponse({ type: DataStoreViewDto })
  update(@Param('id') id: string, @Body() body: DataStoreUpdateDto): Promise<DataStoreView> {
    return this.stores.update(id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @Roles('admin')
  @ApiOperation({ summary: 'Delete a data store (admin); sites that listed it as local stop doing so' })
  @ApiNoContentResponse()
  delete(@Param('id') id: string): Promise<void> {
    return this.stores.delete(id);
  }
}
