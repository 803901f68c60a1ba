int meridian_cdnsio_placeholder(void);
