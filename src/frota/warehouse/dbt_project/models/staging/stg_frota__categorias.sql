-- One row per word of the raw layer and its category, classified by frota.contract.categories
-- (with the [categories] overrides) before each build; a missing word is ''.
with

source as (

    select * from {{ source('raw', 'frota_categorias') }}

),

renamed as (

    select
        coluna,
        palavra,
        categoria

    from source

)

select * from renamed
